/**
 * Case 5, run starts: 1,000 POST /runplaybook with 50 in flight (the original Go service's
 * `hey -n 1000 -c 50`), through functions/run-playbook.ts's handler (product) and
 * through the naive handler in bench/baselines (uncached read, insert per task,
 * SendMessage per root). Requests/s, p50/p99 latency, round trips per start.
 */
import type { Db } from 'mongodb';
import { handler as runPlaybookHandler } from '../../functions/run-playbook.js';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { playbookCatalog } from '../../lib/wiring/index.js';
import { naiveRunPlaybookHandler } from '../baselines/naive-start-run.js';
import type { RoundTripCounter, RoundTrips } from '../lib/counters.js';
import type { BenchEnv } from '../lib/env.js';
import { alternate, median, percentile, round, row, targets } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';
import { clearRuns, drive, fanOutPlaybook, startRunVia, storePlaybook, TENANT } from '../lib/workload.js';

const IN_FLIGHT = 50;
const PLAYBOOK = 'starts-e2e';

const METHOD = `
**Workload.** The playbook of the e2e-throughput case: 10 independent http tasks and a join (11 task documents, 10 root
messages per run). Each side serves N requests (1,000; 100 with --quick; a fifth of that as warm-up) with 50 in flight, the real-shaped API
Gateway v2 event carrying the authorizer's context, invoked in this one process (50 concurrent invocations on one
event loop and one connection pool of ${'`'}MONGO_MAX_POOL_SIZE${'`'} = 10, where Lambda would run 50 containers).
Nothing consumes the queue; it is purged and the runs are deleted between sides (not timed).
**Sides.** Baseline (bench/baselines/naive-start-run.ts): the playbook from MongoDB every time, insertOne for the
execution and for each task, one SendMessage per root, awaited one after another. Product: functions/run-playbook.ts
(playbook from the two-level cache, execution + tasks in two concurrent writes, SendMessageBatch per 10 roots).
The product's start also writes its audit entry (carried in the execution insert, then copied into the audit log and
cleared on the execution while the roots are sent): the ratio and the round trips per start include the audit's cost.
Round trips are counted on the product's own clients (MongoDB command monitoring, an SQS middleware, Redis sends).
`;

function perStart(t: RoundTrips, n: number) {
  return { mongo: t.mongo / n, sqs: t.sqs / n, redis: t.redis / n, total: (t.mongo + t.sqs + t.redis) / n };
}

export function runStartsCase(opts: { observer: Db; env: BenchEnv; counter: RoundTripCounter }): BenchCase {
  return {
    id: 'run-starts',
    title: 'Run starts: 1,000 POST /runplaybook, 50 in flight',
    claim: "Concurrent Requests: 100 -> 300-400 req/sec, 3-4x (the original's pools, load test `hey -n 1000 -c 50`)",
    method: METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const { observer: db, env, counter } = opts;
      // Through the catalog, as POST /playbooks does (so the cache learns of it like in production).
      await storePlaybook(playbookCatalog(), TENANT, fanOutPlaybook(PLAYBOOK, 'http://127.0.0.1:9/intel', 10, true));
      const total = ctx.quick ? 100 : 1_000;
      const naive = naiveRunPlaybookHandler();
      const side = (handler: unknown) => ({
        async run(r: number) {
          const n = r < 0 ? total / 5 : total;
          const since = counter.start();
          const res = await drive(n, IN_FLIGHT, async () => {
            await startRunVia(handler, TENANT, PLAYBOOK);
          });
          const trips = since();
          const [execs, tasks] = await Promise.all([
            db.collection(COLLECTIONS.executions).countDocuments({}),
            db.collection(COLLECTIONS.tasks).countDocuments({}),
          ]);
          if (execs !== n || tasks !== n * 11)
            throw new Error(`expected ${n} runs / ${n * 11} tasks, found ${execs} / ${tasks}`);
          return {
            rps: (n * 1000) / res.wallMs,
            latencies: res.latencies,
            trips: perStart(trips, n),
            byCommand: trips.mongoByCommand,
          };
        },
      });
      const reset = async () => {
        await env.purgeQueue();
        await clearRuns(db);
      };
      try {
        const rounds = ctx.quick ? 1 : 3;
        const res = await alternate({
          warmup: 1,
          rounds,
          reset,
          log: ctx.log,
          label: 'run-starts',
          baseline: side(naive),
          optimized: side(runPlaybookHandler),
        });
        const bRps = median(res.baseline.map((x) => x.rps));
        const oRps = median(res.optimized.map((x) => x.rps));
        const bLat = res.baseline.flatMap((x) => x.latencies);
        const oLat = res.optimized.flatMap((x) => x.latencies);
        const bTrips =
          res.baseline[0]?.trips ?? perStart({ mongo: 0, sqs: 0, redis: 0, dynamodb: 0, mongoByCommand: {} }, 1);
        const oTrips = res.optimized[0]?.trips ?? bTrips;
        return {
          rows: [
            row({
              case: 'run-starts',
              name: 'run-starts.throughput',
              unit: 'requests/s (50 in flight)',
              baseline: round(bRps, 1),
              optimized: round(oRps, 1),
              ratio: round(oRps / bRps),
              target: targets.ratioAtLeast(3),
              note: 'naive start vs product, same middleware stack and event',
            }),
            row({
              case: 'run-starts',
              name: 'run-starts.round-trips',
              unit: 'round trips per start (MongoDB + SQS + Redis)',
              baseline: round(bTrips.total, 2),
              optimized: round(oTrips.total, 2),
              ratio: round(bTrips.total / oTrips.total),
              target: targets.info(),
            }),
          ],
          details: {
            requests: total,
            in_flight: IN_FLIGHT,
            rounds,
            rps: {
              baseline: res.baseline.map((x) => round(x.rps, 1)),
              optimized: res.optimized.map((x) => round(x.rps, 1)),
            },
            latency_ms: {
              baseline: { p50: round(percentile(bLat, 50), 1), p99: round(percentile(bLat, 99), 1) },
              optimized: { p50: round(percentile(oLat, 50), 1), p99: round(percentile(oLat, 99), 1) },
            },
            round_trips_per_start: { baseline: bTrips, optimized: oTrips },
            mongo_commands_first_round: {
              baseline: res.baseline[0]?.byCommand,
              optimized: res.optimized[0]?.byCommand,
            },
          },
          notes: [
            `requests/s per round: naive ${res.baseline.map((x) => x.rps.toFixed(0)).join(', ')}; product ${res.optimized.map((x) => x.rps.toFixed(0)).join(', ')}`,
            `latency p50/p99: naive ${percentile(bLat, 50).toFixed(1)}/${percentile(bLat, 99).toFixed(1)} ms, product ${percentile(oLat, 50).toFixed(1)}/${percentile(oLat, 99).toFixed(1)} ms`,
            `round trips per start: naive ${bTrips.mongo.toFixed(2)} MongoDB + ${bTrips.sqs.toFixed(2)} SQS + ${bTrips.redis.toFixed(2)} Redis; ` +
              `product ${oTrips.mongo.toFixed(2)} MongoDB + ${oTrips.sqs.toFixed(2)} SQS + ${oTrips.redis.toFixed(2)} Redis`,
          ],
        };
      } finally {
        await reset();
      }
    },
  };
}
