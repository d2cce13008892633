/**
 * Case 7, memory: one process (a child, bundled like the deployed function, run with
 * --expose-gc) consumes 10,000 task messages with the real executeTask handler: peak
 * RSS, and the heap after a full GC after the warm-up and at the end.
 */
import path from 'node:path';
import type { Db } from 'mongodb';
import { handler as runPlaybookHandler } from '../../functions/run-playbook.js';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { playbookCatalog } from '../../lib/wiring/index.js';
import type { Stub } from '../../test/support/stub-server.js';
import { bundle } from '../lib/bundle.js';
import { runNodeJson } from '../lib/child.js';
import { DEPLOYED } from '../lib/consumer.js';
import { deployedNodeOptions } from '../lib/deployed.js';
import type { BenchEnv } from '../lib/env.js';
import { round, row, targets } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';
import {
  type Caller,
  clearRuns,
  drive,
  fanOutPlaybook,
  startRunVia,
  storePlaybook,
  waitFinished,
} from '../lib/workload.js';

const MB = 1024 * 1024;

const TENANTS = 10;

interface ChildReport {
  tasks: number;
  invocations: number;
  wallMs: number;
  peakRss: number;
  peakRssSampled: number;
  checkpoints: Array<{ tasks: number; heapUsed: number; rss: number; external: number }>;
  heapSpacesPhysical: Record<string, number>;
  memoryUsage: NodeJS.MemoryUsage;
}

function runChild(file: string, nodeFlags: string[], env: NodeJS.ProcessEnv): Promise<ChildReport> {
  return runNodeJson<ChildReport>(['--expose-gc', ...nodeFlags, file], env, 'memory consumer');
}

const METHOD = `
**Workload.** 1,000 runs (50 with --quick) of 10 independent http tasks each (the stub answers at once), spread
over 10 tenants, are started through the product's runPlaybook handler, putting 10,000 task messages on the queue. Then one child
process — bench/children/memory-consumer.ts bundled with serverless.yml's esbuild options and run with
${'`'}--expose-gc${'`'} plus executeTask's NODE_OPTIONS from serverless.yml — consumes all of them with the real executeTask handler behind the Lambda-like
poller, as one warm container that never recycles: batches of 10 (serverless.yml), one batch at a time, because
Lambda hands a container one invocation at a time (the deployed maximum concurrency of 10 means 10 containers).
The full run also measures, as diagnostics, the other functions' NODE_OPTIONS (${'`'}--enable-source-maps${'`'}, which
executeTask leaves out) and 10 batches at a time in the one process.
**Measured.** Peak RSS of the child (the kernel's high-water mark, ${'`'}process.resourceUsage().maxRSS${'`'}); heap used
after two full GCs after the first 1,000 tasks (warm-up) and every 2,000 tasks after, with the poller paused.
"No heap growth" = heap at the end <= 1.1 x heap after warm-up. The poller and its SQS client live in the child
too (Lambda's own poller would not), so the figure is slightly pessimistic.
`;

export function memoryCase(opts: { observer: Db; env: BenchEnv; stub: Stub; benchDir: string }): BenchCase {
  return {
    id: 'memory',
    title: 'Memory: the task consumer over 10,000 tasks',
    claim:
      "Memory Usage: 100MB -> 30-50MB heap, 50-70% reduction (the original's pooling); ours: peak RSS <= 128 MB, no heap growth",
    method: METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const { observer: db, env, stub } = opts;
      const runs = ctx.quick ? 50 : 1_000;
      const file = path.join(opts.benchDir, 'out', 'memory-consumer.mjs');
      const bytes = await bundle(path.join(opts.benchDir, 'children', 'memory-consumer.ts'), file);
      // Several tenants, so the per-tenant fairness cap (50 running tasks) is not what is measured.
      const tenants = Array.from({ length: TENANTS }, (_, t) => ({ tenant_code: `memory-tenant-${t}`, sub: 'bench' }));
      for (const t of tenants) {
        await storePlaybook(playbookCatalog(), t, fanOutPlaybook('memory-10', `${stub.url}/ok/memory`, 10));
      }
      /** Queues `runs` runs, lets one child consume them all, checks every run completed. */
      const deployedFlags = deployedNodeOptions('executeTask');
      const otherFlags = deployedNodeOptions('runPlaybook');
      const consume = async (flags: string[], runs: number, concurrency: number): Promise<ChildReport> => {
        const tasks = runs * 10;
        await clearRuns(db);
        const peids: string[] = [];
        await drive(runs, 50, async (i) => {
          peids.push(await startRunVia(runPlaybookHandler, tenants[i % TENANTS] as Caller, 'memory-10'));
        });
        ctx.log(
          `memory: ${tasks} task messages queued, consuming in a child process (node ${flags.join(' ') || 'without flags'}, ${concurrency} batch(es) at a time)`,
        );
        const report = await runChild(file, flags, {
          ...env.childEnv(),
          BENCH_MEMORY_TASKS: String(tasks),
          BENCH_MEMORY_WARMUP: String(Math.min(1_000, tasks / 5)),
          BENCH_MEMORY_CHECKPOINT: String(ctx.quick ? 100 : 2_000),
          BENCH_MEMORY_BATCH: String(DEPLOYED.batchSize),
          BENCH_MEMORY_CONCURRENCY: String(concurrency),
        });
        const finished = await waitFinished(db, peids, 60_000, 50).catch(async (err: Error) => {
          const byStatus = await db
            .collection(COLLECTIONS.tasks)
            .aggregate([{ $group: { _id: '$status', n: { $sum: 1 } } }])
            .toArray();
          throw new Error(
            `${err.message}; child finished ${report.tasks} tasks; task statuses ${JSON.stringify(byStatus)}`,
          );
        });
        const completed = [...finished.values()].filter((r) => r.execution_status === 'completed').length;
        if (completed !== runs) throw new Error(`${completed} of ${runs} runs completed`);
        return report;
      };
      try {
        // One container: Lambda gives a container one batch at a time.
        const report = await consume(deployedFlags, runs, 1);
        // Diagnostics (full run only, 2,000 tasks each: RSS peaks within the first thousand): the other
        // functions' NODE_OPTIONS; ten batches at a time in one process (ten containers' work in one).
        const other = ctx.quick ? null : await consume(otherFlags, 200, 1);
        const crowded = ctx.quick ? null : await consume(deployedFlags, 200, DEPLOYED.maxConcurrency);
        const warm = report.checkpoints[0];
        const end = report.checkpoints.at(-1);
        if (!warm || !end) throw new Error('no heap checkpoints');
        const growth = end.heapUsed / warm.heapUsed;
        const series = report.checkpoints.map((c) => `${c.tasks}: ${(c.heapUsed / MB).toFixed(1)} MB`).join(', ');
        return {
          rows: [
            row({
              case: 'memory',
              name: 'memory.peak-rss',
              unit: 'MB peak RSS of the consumer process',
              baseline: null,
              optimized: round(report.peakRss / MB, 1),
              ratio: null,
              target: targets.valueAtMost(128, '<= 128 MB'),
            }),
            row({
              case: 'memory',
              name: 'memory.heap-growth',
              unit: 'MB heap after GC: after warm-up vs at the end',
              baseline: round(warm.heapUsed / MB, 1),
              optimized: round(end.heapUsed / MB, 1),
              ratio: round(growth, 3),
              target: targets.ratioAtMost(1.1, '<= 1.1x (no growth)'),
            }),
          ],
          details: {
            tasks: report.tasks,
            runs,
            consumer_bundle_bytes: bytes,
            wall_ms: round(report.wallMs, 0),
            tasks_per_s: round((report.tasks * 1000) / report.wallMs, 1),
            peak_rss_mb: round(report.peakRss / MB, 1),
            peak_rss_sampled_mb: round(report.peakRssSampled / MB, 1),
            node_options: deployedFlags.join(' '),
            end_memory_usage_mb: Object.fromEntries(
              Object.entries(report.memoryUsage).map(([k, v]) => [k, round(v / MB, 1)]),
            ),
            end_heap_spaces_committed_mb: Object.fromEntries(
              Object.entries(report.heapSpacesPhysical).map(([k, v]) => [k, round(v / MB, 2)]),
            ),
            diagnostic_ten_batches_at_once: crowded
              ? { concurrency: DEPLOYED.maxConcurrency, peak_rss_mb: round(crowded.peakRss / MB, 1) }
              : null,
            diagnostic_other_functions_node_options: other
              ? {
                  node_options: otherFlags.join(' '),
                  peak_rss_mb: round(other.peakRss / MB, 1),
                  heap_used_end_mb: round((other.checkpoints.at(-1)?.heapUsed ?? 0) / MB, 2),
                }
              : null,
            checkpoints: report.checkpoints.map((c) => ({
              tasks: c.tasks,
              heap_used_mb: round(c.heapUsed / MB, 2),
              rss_mb: round(c.rss / MB, 1),
              external_mb: round(c.external / MB, 2),
            })),
          },
          notes: [
            `${report.tasks.toLocaleString('en-US')} tasks in ${report.invocations} invocations and ${(report.wallMs / 1000).toFixed(1)} s (${((report.tasks * 1000) / report.wallMs).toFixed(0)} tasks/s, pauses for the checkpoints included); all ${runs} runs completed`,
            `peak RSS ${(report.peakRss / MB).toFixed(1)} MB; heap after GC by tasks done: ${series}`,
            `executeTask's NODE_OPTIONS (serverless.yml): ${'`'}${deployedFlags.join(' ')}${'`'}`,
            ...(other
              ? [
                  `diagnostic: the same consumer with the other functions' NODE_OPTIONS (${'`'}${otherFlags.join(' ')}${'`'}) peaks at ${(other.peakRss / MB).toFixed(1)} MB RSS over ${other.tasks.toLocaleString('en-US')} tasks`,
                ]
              : []),
            ...(crowded
              ? [
                  `diagnostic: ${DEPLOYED.maxConcurrency} batches at a time in the one process (the work of ${DEPLOYED.maxConcurrency} containers, which Lambda would spread over ${DEPLOYED.maxConcurrency} processes) peaks at ${(crowded.peakRss / MB).toFixed(1)} MB RSS over ${crowded.tasks.toLocaleString('en-US')} tasks`,
                ]
              : []),
          ],
        };
      } finally {
        await env.purgeQueue();
        await clearRuns(db);
      }
    },
  };
}
