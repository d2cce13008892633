/**
 * End-to-end throughput: runs of 10 parallel http tasks (100 ms stub) and a join,
 * started through the real runPlaybook handler (Idempotency-Key on, so DynamoDB is in the
 * path), 50 in flight, executed by the real executeTask handler (fairness on) from the real
 * local queue through the Lambda-like event source. Two shapes (METHOD in bench/lib/e2e-notes.ts):
 * the functions as container processes, as deployed (the main rows: bench/lib/e2e-containers.ts),
 * and everything in this process (continuity: bench/lib/e2e-single.ts).
 */
import type { Db } from 'mongodb';
import { playbookCatalog } from '../../lib/wiring/index.js';
import type { Stub } from '../../test/support/stub-server.js';
import { DEPLOYED } from '../lib/consumer.js';
import type { RoundTripCounter } from '../lib/counters.js';
import { type ProcessesResult, runWithContainers } from '../lib/e2e-containers.js';
import { PLAYBOOK, STUB_DELAY_MS, TENANT_CALLERS, TENANTS, WIDTH } from '../lib/e2e-load.js';
import { E2E_METHOD } from '../lib/e2e-notes.js';
import { containersOutcome } from '../lib/e2e-report-containers.js';
import { singleProcessOutcome } from '../lib/e2e-report-single.js';
import { runSingleProcess, type SingleProcessResult } from '../lib/e2e-single.js';
import type { BenchEnv } from '../lib/env.js';
import { createRunTracker } from '../lib/run-tracker.js';
import { median } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';
import { clearRuns, fanOutPlaybook, storePlaybook } from '../lib/workload.js';

/** executeTask containers: the deployed maximumConcurrency unless BENCH_E2E_CONTAINERS says otherwise. */
const CONTAINERS = Number(process.env.BENCH_E2E_CONTAINERS ?? DEPLOYED.maxConcurrency);
/** Which shapes run: `containers`, `single-process` (both by default; `npm run profile` runs one). */
const SHAPES = (process.env.BENCH_E2E_SHAPES ?? 'containers,single-process').split(',');

export function e2eThroughputCase(opts: {
  observer: Db;
  env: BenchEnv;
  stub: Stub;
  counter: RoundTripCounter;
  benchDir: string;
}): BenchCase {
  const { observer: db, env, stub, counter } = opts;
  return {
    id: 'e2e-throughput',
    title: 'End to end: 1,000 runs of 10 x 100 ms http tasks + join, 50 in flight',
    claim:
      '>= 66 runs/s with 50 runs in flight and the functions as containers; an idle run <= 150 ms; per run under ' +
      'load <= 10 MongoDB commands, <= 1.1 consumer invocations, <= 15 ms of product handler CPU (in one process: ' +
      '>= 100 runs/s; all 10 tasks of a run overlap)',
    method: E2E_METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const url = `${stub.url}/delay/${STUB_DELAY_MS}`;
      for (const caller of TENANT_CALLERS)
        await storePlaybook(playbookCatalog(), caller, fanOutPlaybook(PLAYBOOK, url, WIDTH, true));
      const total = ctx.quick ? 100 : 1_000;
      const idleCount = ctx.quick ? 10 : 20;
      let containers: ProcessesResult | undefined;
      let single: SingleProcessResult | undefined;
      try {
        if (SHAPES.includes('containers')) {
          containers = await runWithContainers({
            env,
            benchDir: opts.benchDir,
            stub,
            db,
            shape: { batchSize: DEPLOYED.batchSize, maxConcurrency: CONTAINERS },
            total,
            idleCount,
            log: ctx.log,
          });
          ctx.log(
            `e2e-throughput containers: ${containers.load.runsPerS.toFixed(1)} runs/s, idle median ${median(containers.idle.latencies).toFixed(0)} ms`,
          );
        }
        if (SHAPES.includes('single-process')) {
          const tracker = createRunTracker(db, 5);
          try {
            single = await runSingleProcess({ env, stub, db, counter, tracker, total, idleCount });
          } finally {
            tracker.close();
          }
          ctx.log(
            `e2e-throughput single process: ${single.load.runsPerS.toFixed(1)} runs/s, idle median ${median(single.idle.latencies).toFixed(0)} ms`,
          );
        }
      } finally {
        await clearRuns(db);
      }
      const parts = [containers && containersOutcome(containers), single && singleProcessOutcome(single)].filter(
        (p): p is CaseOutcome => p !== undefined,
      );
      return {
        rows: parts.flatMap((p) => p.rows),
        details: {
          tenants: TENANTS,
          ...(containers ? { containers: parts[0]?.details } : {}),
          ...(single ? { single_process: parts.at(-1)?.details } : {}),
        },
        notes: parts.flatMap((p) => p.notes ?? []),
        tables: parts.flatMap((p) => p.tables ?? []),
      };
    },
  };
}
