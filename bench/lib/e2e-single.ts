/**
 * The e2e-throughput case's single-process shape, kept for continuity with earlier results: the
 * real runPlaybook and executeTask handlers invoked in this process (executeTask behind the
 * Lambda-like poller, maximum concurrency 50), with the stub, the tracker and the workers on the
 * same event loop. CPU is this process's (product and harness together) and the local servers'.
 */
import type { Context, SQSEvent } from 'aws-lambda';
import type { Db } from 'mongodb';
import { handler as executeTaskHandler } from '../../functions/execute-task.js';
import { handler as runPlaybookHandler } from '../../functions/run-playbook.js';
import { lambdaContext } from '../../test/support/lambda-context.js';
import type { Stub } from '../../test/support/stub-server.js';
import { type ConsumerShape, createConsumer, redeliveryCounter } from './consumer.js';
import type { RoundTripCounter } from './counters.js';
import { driveRuns, type IdleRuns, idleRuns, type StartInvoker } from './e2e-load.js';
import type { LoadResult } from './e2e-report-single.js';
import type { BenchEnv } from './env.js';
import { cpuSince, cpuSnapshot, sampleRss } from './proc-cpu.js';
import type { RunTracker } from './run-tracker.js';
import { clearRuns } from './workload.js';

/** 50 runs x 10 ready tasks / 10 per batch: one invocation per ready batch (see the METHOD). */
export const SINGLE_PROCESS_SHAPE: ConsumerShape = {
  batchSize: 10,
  maxConcurrency: Number(process.env.BENCH_E2E_CONCURRENCY ?? 50),
};

export interface SingleProcessResult {
  idle: IdleRuns;
  load: LoadResult;
  shape: ConsumerShape;
}

const startInProcess: StartInvoker = (event) =>
  (runPlaybookHandler as unknown as (e: unknown, c: Context) => Promise<unknown>)(
    event,
    lambdaContext('runPlaybook', 28_000),
  );

/** Idle runs, a warm-up, then the measured load, everything in this process. */
export async function runSingleProcess(o: {
  env: BenchEnv;
  stub: Stub;
  db: Db;
  counter: RoundTripCounter;
  tracker: RunTracker;
  total: number;
  idleCount: number;
}): Promise<SingleProcessResult> {
  const { stub, tracker } = o;
  const shape = SINGLE_PROCESS_SHAPE;
  // Deferred (and otherwise redelivered) messages: bodies delivered again.
  const redeliveries = redeliveryCounter();
  const consumer = createConsumer(o.env, (event: SQSEvent, context: Context) => {
    redeliveries.observe(event.Records);
    return executeTaskHandler(event, context);
  });
  try {
    // Idle: one run at a time on the load-sized consumer, after 3 warm-up runs.
    await consumer.start(shape);
    await idleRuns(3, tracker, startInProcess, stub);
    const idle = await idleRuns(o.idleCount, tracker, startInProcess, stub);
    await consumer.stop();
    await clearRuns(o.db);

    const load = async (n: number): Promise<LoadResult> => {
      const poller = await consumer.start(shape);
      stub.reset();
      redeliveries.reset();
      const since = o.counter.start();
      const rss = sampleRss();
      const cpu0 = cpuSnapshot();
      const driven = await driveRuns(n, tracker, startInProcess);
      const cpu = cpuSince(cpu0);
      const peakRss = rss.stop();
      const trips = since();
      await consumer.stop();
      return {
        ...driven,
        cpu,
        peakRss,
        stubCalls: stub.calls.length,
        deferred: redeliveries.count,
        invocations: poller.stats.invocations,
        trips,
      };
    };
    // Warm-up, then the measured load on a collection emptied of earlier runs.
    await load(Math.max(20, o.total / 5));
    await clearRuns(o.db);
    const res = await load(o.total);
    await clearRuns(o.db);
    return { idle, load: res, shape };
  } finally {
    await consumer.close();
  }
}
