/**
 * Case 2, top playbooks: 100,000 executions over 200 playbooks and 5 tenants
 * (60 days of history, so the 30-day window keeps about half).
 *  a) the original Go service's BEFORE pipeline (match, sort by date, group, sort, limit) vs its
 *     AFTER pipeline (group first), one aggregation per tenant;
 *  b) GET /analytics/top-playbooks served from the stored result (the product's
 *     functions/analytics.ts, fed by the scheduled functions/top-playbooks.ts) vs
 *     computing the aggregation on every request (baseline in bench/).
 */
import type { Db } from 'mongodb';
import { handler as analyticsHandler } from '../../functions/analytics.js';
import { handler as topPlaybooksHandler } from '../../functions/top-playbooks.js';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import type { ExecutionRecord } from '../../lib/engine/model.js';
import { lambdaContext } from '../../test/support/lambda-context.js';
import {
  originalAfterPipeline,
  originalBeforePipeline,
  topPlaybooks,
  topPlaybooksMatch,
} from '../baselines/original-top-playbooks.js';
import { computeTopPlaybooksHandler } from '../baselines/top-playbooks-per-request.js';
import { seededRandom } from '../lib/random.js';
import { alternate, median, percentile, round, row, targets, timed } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome, Row } from '../lib/types.js';
import { invokeApi } from '../lib/workload.js';

const DAY = 86_400_000;
const TENANTS = 5;
const PLAYBOOKS = 200;
const WINDOW_DAYS = 30;

const tenantCode = (t: number) => `tenant-${t}`;

/** Inserts `total` executions with insertMany in chunks; returns how long it took. */
async function insertExecutions(db: Db, total: number, now: number): Promise<number> {
  const random = seededRandom(6);
  const col = db.collection<ExecutionRecord & { _id: string }>(COLLECTIONS.executions);
  // Each playbook has its own typical runtime, so the top 5 are well defined.
  const meanRuntime = Array.from({ length: PLAYBOOKS }, () => 200 + random() * 20_000);
  const chunk = 5_000;
  const t0 = performance.now();
  for (let start = 0; start < total; start += chunk) {
    const docs: Array<ExecutionRecord & { _id: string }> = [];
    for (let i = start; i < Math.min(total, start + chunk); i++) {
      const p = Math.floor(random() * PLAYBOOKS);
      const tenant = p % TENANTS;
      const created = now - Math.floor(random() * 60 * DAY);
      const u = random();
      const status = u < 0.85 ? 'completed' : u < 0.95 ? 'failed' : 'running';
      const runtime = status === 'running' ? null : Math.round((meanRuntime[p] as number) * (0.5 + random()));
      const peid = `exec-${String(i).padStart(8, '0')}`;
      docs.push({
        _id: peid,
        peid,
        tenant_code: tenantCode(tenant),
        pid: `pb-${p}`,
        playbook_name: `playbook-${p}`,
        playbook_version: 1,
        alert_id: `alert-${i}`,
        uid: `analyst-${i % 17}`,
        alert_json: '{"src_ip":"203.0.113.7"}',
        execution_status: status,
        createddate: created,
        updateddate: created + (runtime ?? 0),
        completeddate: runtime === null ? null : created + runtime,
        playbook_runtime: runtime,
        open_tasks: [],
        tasks_total: 5,
        error: null,
      });
    }
    await col.insertMany(docs, { ordered: false });
  }
  return performance.now() - t0;
}

function scheduledEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: 'bench-schedule',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: process.env.AWS_REGION ?? 'us-east-1',
    resources: ['arn:aws:events:us-east-1:000000000000:rule/topPlaybooks'],
    detail: {},
  };
}

const METHOD = `
**Data.** ${'`'}insertMany${'`'} in chunks of 5,000: 100,000 executions (5,000 with --quick) over 200 playbooks
owned by 5 tenants, created over the last 60 days, 85 % completed, each playbook with its own typical runtime.
**a) Pipelines.** Per round, each side aggregates the top 5 of every tenant (5 aggregations); both pipelines are
the original Go service's own (bench/baselines/original-top-playbooks.ts) and must return the same playbooks. mongo-java-server
keeps the declared indexes but does not use non-unique ones, so both pipelines scan; on a real MongoDB the
${'`'}status_created_pid_runtime${'`'} index serves the ${'`'}$match${'`'} and the absolute times drop for both.
**b) Serving.** GET /analytics/top-playbooks through the product's handler, which answers from the result the
scheduled ${'`'}topPlaybooks${'`'} function stored, vs a handler in bench/ that runs the AFTER pipeline on every
request; same middleware stack, same response shape, requests one after another, median latency.
`;

export function topPlaybooksCase(db: Db): BenchCase {
  return {
    id: 'top-playbooks',
    title: 'Top playbooks: aggregation pipeline and analytics read',
    claim: "Database Queries: 5-10x faster (the original's query optimization); ours: analytics read >= 20x",
    method: METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const total = ctx.quick ? 5_000 : 100_000;
      const now = Date.now();
      const insertMs = await insertExecutions(db, total, now);
      ctx.log(`top-playbooks: inserted ${total} executions in ${(insertMs / 1000).toFixed(1)} s`);
      const since = now - WINDOW_DAYS * DAY;
      const tenants = Array.from({ length: TENANTS }, (_, t) => tenantCode(t));

      // a) pipelines
      const before = await Promise.all(
        tenants.map((t) => topPlaybooks(db, originalBeforePipeline(topPlaybooksMatch(t, since)))),
      );
      const after = await Promise.all(
        tenants.map((t) => topPlaybooks(db, originalAfterPipeline(topPlaybooksMatch(t, since)))),
      );
      const same = before.every(
        (b, i) => JSON.stringify(b.map((x) => x.pid)) === JSON.stringify(after[i]?.map((x) => x.pid)),
      );
      if (!same) throw new Error('the BEFORE and AFTER pipelines disagree on the top playbooks');
      const pipelineSide = (make: typeof originalBeforePipeline) => ({
        run: () =>
          timed(async () => {
            for (const t of tenants) await topPlaybooks(db, make(topPlaybooksMatch(t, since)));
          }),
      });
      const rounds = ctx.quick ? 1 : 7;
      const pipe = await alternate({
        warmup: 1,
        rounds,
        log: ctx.log,
        label: 'top-playbooks pipelines',
        baseline: pipelineSide(originalBeforePipeline),
        optimized: pipelineSide(originalAfterPipeline),
      });
      const bMs = median(pipe.baseline);
      const oMs = median(pipe.optimized);
      const rows: Row[] = [
        row({
          case: 'top-playbooks',
          name: 'top-playbooks.pipeline',
          unit: `ms per 5 tenants (${total / 1000}k executions)`,
          baseline: round(bMs, 1),
          optimized: round(oMs, 1),
          ratio: round(bMs / oMs),
          target: targets.info('info (original: 5-10x)'),
          note: "the original's BEFORE (sort, group) vs AFTER (group first)",
        }),
      ];
      const notes = [
        `inserted ${total.toLocaleString('en-US')} executions in ${(insertMs / 1000).toFixed(1)} s`,
        `pipelines, ms per round of 5 tenants: BEFORE ${pipe.baseline.map((x) => x.toFixed(0)).join(', ')}; AFTER ${pipe.optimized.map((x) => x.toFixed(0)).join(', ')}`,
        `tenant-0 top 5 (AFTER): ${after[0]?.map((p) => `${p.name} ${p.average.toFixed(0)} ms over ${p.count} runs`).join('; ')}`,
      ];
      const details: Record<string, unknown> = {
        executions: total,
        insert_ms: round(insertMs, 0),
        pipeline_ms: {
          baseline: pipe.baseline.map((x) => round(x, 1)),
          optimized: pipe.optimized.map((x) => round(x, 1)),
        },
        top5_tenant0: after[0],
      };

      // b) serving
      const serve = await measureServing(ctx, { read: analyticsHandler, compute: topPlaybooksHandler }, tenants);
      rows.push(serve.row);
      notes.push(...serve.notes);
      details.serve = serve.details;
      await db.collection(COLLECTIONS.executions).deleteMany({});
      return { rows, details, notes };
    },
  };
}

async function measureServing(
  ctx: BenchContext,
  product: { read: unknown; compute: unknown },
  tenants: string[],
): Promise<{ row: Row; notes: string[]; details: Record<string, unknown> }> {
  const computeMs = await timed(async () => {
    await (product.compute as (e: unknown, c: unknown) => Promise<unknown>)(
      scheduledEvent(),
      lambdaContext('topPlaybooks', 300_000),
    );
  });
  const baselineHandler = computeTopPlaybooksHandler(WINDOW_DAYS);
  const requests = ctx.quick ? 5 : 20;
  const call = (handler: unknown, fn: string, tenant: string) =>
    invokeApi(handler, fn, {
      method: 'GET',
      route: '/analytics/top-playbooks',
      path: '/analytics/top-playbooks',
      caller: { tenant_code: tenant, sub: 'bench-analyst' },
    });
  // Both must answer 200 with the same playbooks for the same tenant.
  const a = await call(baselineHandler, 'analytics', tenants[0] as string);
  const b = await call(product.read, 'analytics', tenants[0] as string);
  if (a.status !== 200 || b.status !== 200)
    throw new Error(`analytics answered ${a.status} / ${b.status}: ${JSON.stringify(b.body)}`);
  const pids = (x: unknown) => ((x as { items?: Array<{ pid: string }> }).items ?? []).map((i) => i.pid).join(',');
  const agree = pids(a.body) === pids(b.body);
  const side = (handler: unknown) => ({
    async run() {
      const lat: number[] = [];
      for (let i = 0; i < requests; i++) {
        const tenant = tenants[i % tenants.length] as string;
        lat.push(
          await timed(async () => {
            const r = await call(handler, 'analytics', tenant);
            if (r.status !== 200) throw new Error(`analytics answered ${r.status}`);
          }),
        );
      }
      return lat;
    },
  });
  const rounds = ctx.quick ? 1 : 5;
  const res = await alternate({
    warmup: 1,
    rounds,
    log: ctx.log,
    label: 'top-playbooks serving',
    baseline: side(baselineHandler),
    optimized: side(product.read),
  });
  const bAll = res.baseline.flat();
  const oAll = res.optimized.flat();
  const bMed = median(res.baseline.map(median));
  const oMed = median(res.optimized.map(median));
  return {
    row: row({
      case: 'top-playbooks',
      name: 'top-playbooks.serve',
      unit: 'ms per request (p50)',
      baseline: round(bMed, 2),
      optimized: round(oMed, 3),
      ratio: round(bMed / oMed),
      target: targets.ratioAtLeast(20),
      note: 'GET /analytics/top-playbooks: stored result vs aggregation per request',
    }),
    notes: [
      `analytics read: the scheduled computation took ${computeMs.toFixed(0)} ms for all tenants; per request p50/p99 ${percentile(bAll, 50).toFixed(1)}/${percentile(bAll, 99).toFixed(1)} ms computing vs ${percentile(oAll, 50).toFixed(2)}/${percentile(oAll, 99).toFixed(2)} ms stored`,
      `stored and per-request answers name the same playbooks: ${agree ? 'yes' : 'NO (different windows or rules)'}`,
    ],
    details: { compute_ms: round(computeMs, 0), requests, rounds, agree },
  };
}
