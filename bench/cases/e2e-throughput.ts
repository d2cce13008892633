/**
 * Case 9, end-to-end throughput: runs of 10 parallel http tasks (100 ms
 * stub) and a join, started through the real runPlaybook handler (Idempotency-Key
 * on, so DynamoDB is in the path) with 50 runs in flight, executed by the real
 * executeTask handler (fairness on) from the real local queue through the
 * Lambda-like poller. Runs/s, start-to-completed latency, idle latency, CPU per
 * run (this process and the local servers), peak RSS, overlap of an idle run.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent } from 'aws-lambda';
import type { Db } from 'mongodb';
import { handler as executeTaskHandler } from '../../functions/execute-task.js';
import { handler as runPlaybookHandler } from '../../functions/run-playbook.js';
import { playbookCatalog } from '../../lib/services.js';
import type { Stub } from '../../test/support/stub-server.js';
import { type ConsumerShape, createConsumer, DEPLOYED, redeliveryCounter } from '../lib/consumer.js';
import { startConsumerProcesses } from '../lib/consumer-processes.js';
import type { RoundTripCounter } from '../lib/counters.js';
import { E2E_METHOD } from '../lib/e2e-notes.js';
import { e2eOutcome, type LoadResult } from '../lib/e2e-report.js';
import type { BenchEnv } from '../lib/env.js';
import { cpuSince, cpuSnapshot, sampleRss } from '../lib/proc-cpu.js';
import { createRunTracker, type RunTracker } from '../lib/run-tracker.js';
import { median } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';
import { type Caller, clearRuns, fanOutPlaybook, invokeApi, storePlaybook } from '../lib/workload.js';

const PLAYBOOK = 'e2e-fanout-10';
const STUB_DELAY_MS = 100;
const WIDTH = 10;
const IN_FLIGHT = 50;
/** Consumer processes for the second idle measurement: an idle run's 10 messages, one container each. */
const CONTAINERS = 10;
/**
 * Runs in flight per tenant = IN_FLIGHT / TENANTS = 2: at most 22 tasks of a tenant ready, under the
 * default cap of 50 (with 10 tenants, 5 runs = 50 calls + their joins would exceed it; see the METHOD).
 */
const TENANTS = Number(process.env.BENCH_E2E_TENANTS ?? 25);
/** 50 runs x 10 ready tasks / 10 per batch: one invocation per ready batch (see the METHOD). */
export const LOAD_SHAPE: ConsumerShape = {
  batchSize: 10,
  maxConcurrency: Number(process.env.BENCH_E2E_CONCURRENCY ?? 50),
};

const TENANT_CALLERS: Caller[] = Array.from({ length: TENANTS }, (_, i) => ({
  tenant_code: `e2e-tenant-${i}`,
  sub: 'e2e-analyst',
}));

async function startRun(caller: Caller): Promise<string> {
  const res = await invokeApi(runPlaybookHandler, 'runPlaybook', {
    method: 'POST',
    route: '/runplaybook',
    path: '/runplaybook',
    caller,
    headers: { 'idempotency-key': randomUUID() },
    body: { playbook_name: PLAYBOOK, alert_id: `alert-${randomUUID()}`, alert: { src_ip: '203.0.113.7' } },
  });
  if (res.status !== 202) throw new Error(`runplaybook answered ${res.status}: ${JSON.stringify(res.body)}`);
  return (res.body as { peid: string }).peid;
}

/** One run, start request to the product's completeddate, in ms. */
async function oneRun(tracker: RunTracker, caller: Caller): Promise<number> {
  const sent = Date.now();
  const peid = await startRun(caller);
  const done = await tracker.wait(peid);
  if (done.execution_status !== 'completed') throw new Error(`run ${peid} ended ${done.execution_status}`);
  return done.completeddate - sent;
}

export function e2eThroughputCase(opts: {
  observer: Db;
  env: BenchEnv;
  stub: Stub;
  counter: RoundTripCounter;
  benchDir: string;
}): BenchCase {
  const { observer: db, env, stub, counter } = opts;
  // Deferred (and otherwise redelivered) messages: bodies delivered again.
  const redeliveries = redeliveryCounter();
  const consumer = createConsumer(env, (event: SQSEvent, context: Context) => {
    redeliveries.observe(event.Records);
    return executeTaskHandler(event, context);
  });

  /** `n` runs, IN_FLIGHT at once; worker w always starts runs of tenant w % TENANTS. */
  async function load(n: number, shape: ConsumerShape, tracker: RunTracker): Promise<LoadResult> {
    const poller = await consumer.start(shape);
    stub.reset();
    redeliveries.reset();
    const since = counter.start();
    const rss = sampleRss();
    const cpu0 = cpuSnapshot();
    const latencies: number[] = [];
    let next = 0;
    let lastDone = 0;
    const firstSent = Date.now();
    const worker = async (w: number) => {
      const caller = TENANT_CALLERS[w % TENANTS] as Caller;
      while (next < n) {
        next += 1;
        const lat = await oneRun(tracker, caller);
        latencies.push(lat);
        lastDone = Math.max(lastDone, Date.now());
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n) }, (_, w) => worker(w)));
    const cpu = cpuSince(cpu0);
    const peakRss = rss.stop();
    const trips = since();
    await consumer.stop();
    return {
      runs: n,
      runsPerS: (n * 1000) / (lastDone - firstSent),
      latencies,
      cpu,
      peakRss,
      stubCalls: stub.calls.length,
      deferred: redeliveries.count,
      invocations: poller.stats.invocations,
      trips,
    };
  }

  return {
    id: 'e2e-throughput',
    title: 'End to end: 1,000 runs of 10 x 100 ms http tasks + join, 50 in flight',
    claim:
      'End-to-end targets: >= 100 runs/s with 50 runs in flight; an idle run <= 150 ms; all 10 tasks of a run overlap',
    method: E2E_METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const url = `${stub.url}/delay/${STUB_DELAY_MS}`;
      for (const caller of TENANT_CALLERS)
        await storePlaybook(playbookCatalog(), caller, fanOutPlaybook(PLAYBOOK, url, WIDTH, true));
      const tracker = createRunTracker(db, 5);
      const total = ctx.quick ? 100 : 1_000;
      const idleRuns = ctx.quick ? 10 : 20;
      try {
        // Idle: one run at a time on the load-sized consumer.
        await consumer.start(LOAD_SHAPE);
        const idle: number[] = [];
        const overlap: number[] = [];
        for (let i = -3; i < idleRuns; i++) {
          stub.reset();
          const lat = await oneRun(tracker, TENANT_CALLERS[0] as Caller);
          if (i < 0) continue;
          idle.push(lat);
          overlap.push(stub.maxConcurrent);
        }
        await consumer.stop();
        await clearRuns(db);
        ctx.log(`e2e-throughput idle: median ${median(idle).toFixed(0)} ms`);

        // Idle again with the consumer as separate processes, one per container (after a longer
        // warm-up: each process connects on its first message).
        const idleProcesses: number[] = [];
        const procs = await startConsumerProcesses(env, opts.benchDir, CONTAINERS);
        try {
          for (let i = -6; i < idleRuns; i++) {
            stub.reset();
            const lat = await oneRun(tracker, TENANT_CALLERS[0] as Caller);
            if (i >= 0) idleProcesses.push(lat);
          }
        } finally {
          await procs.stop();
        }
        await clearRuns(db);
        ctx.log(`e2e-throughput idle, ${CONTAINERS} consumer processes: median ${median(idleProcesses).toFixed(0)} ms`);

        // Warm-up, then the measured load on a collection emptied of earlier runs.
        await load(Math.max(20, total / 5), LOAD_SHAPE, tracker);
        await clearRuns(db);
        const res = await load(total, LOAD_SHAPE, tracker);
        await clearRuns(db);
        ctx.log(`e2e-throughput load: ${res.runsPerS.toFixed(1)} runs/s`);

        // The deployed shape (maximumConcurrency 10) on the same load, for the sizing argument.
        let deployed: LoadResult | undefined;
        if (!ctx.quick) {
          deployed = await load(total, DEPLOYED, tracker);
          await clearRuns(db);
          ctx.log(`e2e-throughput load, deployed concurrency 10: ${deployed.runsPerS.toFixed(1)} runs/s`);
        }
        return e2eOutcome({
          res,
          idle,
          idleProcesses,
          processes: CONTAINERS,
          overlap,
          deployed,
          shape: LOAD_SHAPE,
          tenants: TENANTS,
        });
      } finally {
        tracker.close();
        await consumer.close();
        await clearRuns(db);
      }
    },
  };
}
