/**
 * for_each per-item overhead: one run at a time of a playbook whose only
 * task is a `transform` looping over alert.ips, for lists of 10 to 1,000 items,
 * started through the real runPlaybook handler and executed by the real
 * executeTask handler on the deployed consumer shape. Reports run time, engine CPU
 * and round trips per item, and which MongoDB commands (time, reply bytes) grow.
 */
import type { Context, SQSEvent } from 'aws-lambda';
import type { Db } from 'mongodb';
import { handler as executeTaskHandler } from '../../functions/execute-task.js';
import { handler as runPlaybookHandler } from '../../functions/run-playbook.js';
import { getMongoClient } from '../../lib/clients.js';
import { playbookStore, runStore } from '../../lib/wiring/index.js';
import { timeCommands } from '../lib/command-timings.js';
import { createConsumer, DEPLOYED, redeliveryCounter } from '../lib/consumer.js';
import type { RoundTripCounter } from '../lib/counters.js';
import type { BenchEnv } from '../lib/env.js';
import { type Probe, type Sample, summarizeForEach } from '../lib/for-each-summary.js';
import { median } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';
import { type Caller, clearRuns, startRunVia, storePlaybook, TENANT, waitFinished } from '../lib/workload.js';

const ID = 'for-each-overhead';
const PLAYBOOK = 'for-each-overhead';
/** A tenant of its own whose fairness cap (bench/lib/env.ts) is above the consumer's 100 messages in flight. */
const LOOP_TENANT: Caller = { tenant_code: 'bench-for-each', sub: 'bench-analyst' };
const SIZES = [10, 100, 300, 1000];
const tick = '`';

const METHOD = `
**Workload.** Playbook ${tick}${PLAYBOOK}${tick}: one ${tick}transform${tick} task with ${tick}for_each: alert.ips${tick} and
${tick}expression: item${tick}, no ${tick}concurrency${tick} cap (every item is queued at expansion). A transform isolates the
engine: no integration call, no stub competing for the bench process's CPU, no connection pool; what remains per item
is its message, claim, loads, result write and loop bookkeeping. One run at a time: POST /runplaybook through
functions/run-playbook.ts with an alert of N addresses, executed by functions/execute-task.ts behind the Lambda-like
poller in the deployed shape (batch 10, maximum concurrency 10: up to 100 items in flight); run time = the execution's
${tick}completeddate${tick} minus the moment the request was sent. The tenant's fairness cap is raised to 1,000 for this
case (bench/lib/env.ts) so no item is deferred; one run at the default cap of 50 is reported apart (full mode).
**Sizes.** 10, 100, 300 and 1,000 items, interleaved in each of 5 rounds (quick: 2) after a warm-up run, the executions
and tasks collections emptied before each run (the emulator scans the queries it has no lookup for). Medians.
**Per item.** Run time / N; engine CPU / N (this process: handlers, engine, poller); MongoDB, SQS and Redis round
trips / N. Up to 100 items a run is one wave of the 100-message window, so run time / N at 10 is mostly the run's
fixed cost (start, expansion, completion) and the *growth* row (1,000 vs 10) passes easily; the *growth-saturated* row
(1,000 vs 300, both past the window, both throughput-bound) is the one that would show a per-item cost growing with
the list. Targets: <= 1.5x. Full mode also records reply bytes per MongoDB command shape in one extra run per size,
and times one batch's run read (loadRuns: the execution and the run's graph tasks) alone after it (*load-runs*, info).
`;

export function forEachOverheadCase(opts: { observer: Db; env: BenchEnv; counter: RoundTripCounter }): BenchCase {
  return {
    id: ID,
    title: 'for_each: per-item engine overhead at 10 to 1,000 items',
    claim: 'for_each: per-item engine work of for_each is constant as lists grow',
    method: METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const { observer: db, env, counter } = opts;
      const rounds = ctx.quick ? 2 : 5;
      const playbook = {
        name: PLAYBOOK,
        status: 'active',
        tasks: [{ id: 'each', type: 'transform', for_each: 'alert.ips', config: { expression: 'item' } }],
      };
      await storePlaybook(playbookStore(), LOOP_TENANT, playbook);
      await storePlaybook(playbookStore(), TENANT, playbook);
      // The handler, timed; a body seen twice in one run is a redelivery (a fairness deferral or a failure).
      let busy = 0;
      const redeliveries = redeliveryCounter();
      const timedHandler = async (event: SQSEvent, context: Context) => {
        redeliveries.observe(event.Records);
        const t0 = performance.now();
        try {
          return await executeTaskHandler(event, context);
        } finally {
          busy += performance.now() - t0;
        }
      };
      const consumer = createConsumer(env, timedHandler);
      const poller = await consumer.start(DEPLOYED);
      const oneRun = async (n: number, caller = LOOP_TENANT, bytes = false): Promise<Sample> => {
        await clearRuns(db);
        const ips = Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
        busy = 0;
        redeliveries.reset();
        const invocations0 = poller.stats.invocations;
        const since = counter.start();
        const shapes = timeCommands(getMongoClient(), bytes);
        const cpu0 = process.cpuUsage();
        const sent = Date.now();
        const peid = await startRunVia(runPlaybookHandler, caller, PLAYBOOK, { ips });
        const done = (await waitFinished(db, [peid], 300_000, 20)).get(peid);
        const cpu = process.cpuUsage(cpu0);
        const trips = since();
        const byShape = shapes();
        if (done?.execution_status !== 'completed') throw new Error(`run ${peid} ended ${done?.execution_status}`);
        // The invocation that completed the run may still be returning.
        await new Promise((r) => setTimeout(r, 100));
        const probe = bytes ? await probeQueries({ tenant_code: caller.tenant_code, peid }) : undefined;
        return {
          items: n,
          wallMs: done.completeddate - sent,
          cpuMs: (cpu.user + cpu.system) / 1000,
          busyMs: busy,
          invocations: poller.stats.invocations - invocations0,
          redelivered: redeliveries.count,
          trips,
          shapes: byShape,
          ...(probe ? { probe } : {}),
        };
      };
      try {
        await oneRun(100);
        const samples = new Map<number, Sample[]>(SIZES.map((n) => [n, []]));
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? SIZES : [...SIZES].reverse();
          for (const n of order) samples.get(n)?.push(await oneRun(n));
          ctx.log(`${ID} round ${r + 1}/${rounds}`);
        }
        // Full mode only: reply sizes per command shape (untimed, one run per size), and one run
        // at the default fairness cap (50), below the deployed consumer's 100 messages in flight.
        const profiles = new Map<number, Sample>();
        let deployed: Sample | undefined;
        if (!ctx.quick) {
          for (const n of SIZES) profiles.set(n, await oneRun(n, LOOP_TENANT, true));
          deployed = await oneRun(SIZES[SIZES.length - 1] as number, TENANT);
        }
        return summarizeForEach(ID, SIZES, samples, profiles, deployed);
      } finally {
        await consumer.close();
        await clearRuns(db);
      }
    },
  };
}

/**
 * After a run, its database left as it is: the batch's run read (loadRuns without items: the
 * execution by _id and the run's graph tasks by peid, in parallel) and the execution alone by
 * _id, timed alone, sequentially and alternately (median of 101 each).
 */
async function probeQueries(ref: { tenant_code: string; peid: string }): Promise<Probe> {
  const store = runStore();
  const load: number[] = [];
  const byId: number[] = [];
  // Alternating, so both reads see the same background load.
  for (let i = 0; i < 101; i++) {
    let t0 = performance.now();
    await store.loadRuns([ref]);
    load.push(performance.now() - t0);
    t0 = performance.now();
    await store.getExecution(ref);
    byId.push(performance.now() - t0);
  }
  return { load_runs_ms: median(load), by_id_ms: median(byId) };
}
