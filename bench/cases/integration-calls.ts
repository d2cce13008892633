/**
 * Case 6, integration calls: 1,000 POSTs to the local stub through the product's
 * integration client (lib/adapters/http/integration-client.ts), one after another:
 * a new connection per call (baseline agents) vs the shared keep-alive agents of
 * lib/clients.ts createHttpAgents (product).
 */
import type { Agent as HttpAgent } from 'node:http';
import { createIntegrationClient } from '../../lib/adapters/http/integration-client.js';
import { createHttpAgents } from '../../lib/clients.js';
import { getConfig } from '../../lib/config.js';
import type { Stub } from '../../test/support/stub-server.js';
import { noKeepAliveAgents } from '../baselines/no-keepalive-agents.js';
import { alternate, median, percentile, round, row, targets } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';

const METHOD = `
**Workload.** N calls (1,000; 100 with --quick), one after another, each a POST with a small JSON body to the
local stub's ${'`'}/ok${'`'} (answers at once), through the product's integration client (SSRF guard, byte cap,
timeout). Only the agents differ. Baseline: ${'`'}new http.Agent({ keepAlive: false })${'`'}, a TCP connection per call.
Product: ${'`'}createHttpAgents(HTTP_MAX_SOCKETS)${'`'} (keep-alive, the container's pool). On loopback a TCP handshake
costs far less than across a network, and there is no TLS here, so this ratio is a lower bound of what
keep-alive saves against a remote HTTPS integration.
`;

export function integrationCallsCase(stub: Stub): BenchCase {
  return {
    id: 'integration-calls',
    title: 'Integration calls: new connection per call vs keep-alive',
    claim: "HTTP client pool (the original's shared client, no number given); ours: keep-alive >= 1.5x",
    method: METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const calls = ctx.quick ? 100 : 1_000;
      const cfg = getConfig('engine');
      const product = createHttpAgents(cfg.HTTP_MAX_SOCKETS);
      const baseline = noKeepAliveAgents();
      const client = (agents: typeof product) =>
        createIntegrationClient({
          agents,
          maxResponseBytes: cfg.HTTP_RESPONSE_MAX_BYTES,
          allowPrivate: true,
          allowedHosts: [],
        });
      const side = (agents: typeof product) => {
        const c = client(agents);
        const connections = countConnections(agents.http);
        return {
          async run() {
            const c0 = connections();
            const lat: number[] = [];
            const t0 = performance.now();
            for (let i = 0; i < calls; i++) {
              const s = performance.now();
              const res = await c.request({
                method: 'POST',
                url: `${stub.url}/ok/integration`,
                headers: {},
                body: { indicator: '203.0.113.7', i },
                timeoutMs: 5_000,
              });
              if (res.status !== 200) throw new Error(`stub answered ${res.status}`);
              lat.push(performance.now() - s);
            }
            return { wallMs: performance.now() - t0, lat, connections: connections() - c0 };
          },
        };
      };
      try {
        const rounds = ctx.quick ? 1 : 5;
        const res = await alternate({
          warmup: 1,
          rounds,
          log: ctx.log,
          label: 'integration-calls',
          baseline: side(baseline),
          optimized: side(product),
        });
        const b = median(res.baseline.map((x) => x.wallMs));
        const o = median(res.optimized.map((x) => x.wallMs));
        const bLat = res.baseline.flatMap((x) => x.lat);
        const oLat = res.optimized.flatMap((x) => x.lat);
        return {
          rows: [
            row({
              case: 'integration-calls',
              name: 'integration-calls.time',
              unit: `ms per ${calls.toLocaleString('en-US')} sequential calls`,
              baseline: round(b, 1),
              optimized: round(o, 1),
              ratio: round(b / o),
              target: targets.ratioAtLeast(1.5),
              note: 'new connection per call vs shared keep-alive agent',
            }),
          ],
          details: {
            calls,
            rounds,
            wall_ms: {
              baseline: res.baseline.map((x) => round(x.wallMs, 1)),
              optimized: res.optimized.map((x) => round(x.wallMs, 1)),
            },
            connections_per_round: {
              baseline: res.baseline.map((x) => x.connections),
              optimized: res.optimized.map((x) => x.connections),
            },
            latency_ms: {
              baseline: { p50: round(percentile(bLat, 50), 3), p99: round(percentile(bLat, 99), 3) },
              optimized: { p50: round(percentile(oLat, 50), 3), p99: round(percentile(oLat, 99), 3) },
            },
          },
          notes: [
            `per call p50/p99: new connection ${percentile(bLat, 50).toFixed(3)}/${percentile(bLat, 99).toFixed(3)} ms, keep-alive ${percentile(oLat, 50).toFixed(3)}/${percentile(oLat, 99).toFixed(3)} ms`,
            `TCP connections opened per round: ${res.baseline.map((x) => x.connections).join(', ')} (new per call) vs ${res.optimized.map((x) => x.connections).join(', ')} (keep-alive)`,
          ],
        };
      } finally {
        product.http.destroy();
        product.https.destroy();
        baseline.http.destroy();
        baseline.https.destroy();
      }
    },
  };
}

/** Counts the TCP connections an agent opens (every call to its createConnection). */
function countConnections(agent: HttpAgent): () => number {
  let n = 0;
  const create = agent.createConnection.bind(agent);
  agent.createConnection = ((...args: Parameters<typeof create>) => {
    n += 1;
    return create(...args);
  }) as typeof agent.createConnection;
  return () => n;
}
