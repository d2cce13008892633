/**
 * Child process of the memory case, bundled like a deployed function (bench/lib/bundle.ts)
 * and run with --expose-gc: one process consumes the task queue with the real executeTask
 * handler behind the Lambda-like poller, as one long-lived warm container would, until
 * BENCH_MEMORY_TASKS tasks are finished in the database (messages are no measure: the
 * fairness layer may defer a message, deleting it and sending a delayed copy). Prints one
 * JSON line: peak RSS and the heap after a full GC at each checkpoint (after the warm-up,
 * then every BENCH_MEMORY_CHECKPOINT tasks).
 */
import v8 from 'node:v8';
import { handler } from '../../functions/execute-task.js';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { closeClients, createSqsClient, getDb } from '../../lib/clients.js';
import { type SqsHandler, SqsPoller } from '../../test/support/sqs-poller.js';

const total = Number(process.env.BENCH_MEMORY_TASKS ?? 10_000);
const warmup = Number(process.env.BENCH_MEMORY_WARMUP ?? 1_000);
const every = Number(process.env.BENCH_MEMORY_CHECKPOINT ?? 2_000);
const batchSize = Number(process.env.BENCH_MEMORY_BATCH ?? 10);
const maxConcurrency = Number(process.env.BENCH_MEMORY_CONCURRENCY ?? 10);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const sqs = createSqsClient(process.env.AWS_REGION ?? 'us-east-1', process.env.SQS_ENDPOINT);
let peakSampled = 0;
const sampler = setInterval(() => {
  peakSampled = Math.max(peakSampled, process.memoryUsage.rss());
}, 25);

let done = 0;
let invocations = 0;
const finished = () =>
  getDb()
    .collection(COLLECTIONS.tasks)
    .countDocuments({ status: { $in: ['succeeded', 'failed', 'skipped', 'cancelled'] } });
const checkpoints: Array<{ tasks: number; heapUsed: number; rss: number; external: number }> = [];

/** Consumes until `target` tasks are finished in all, then stops the poller (waits for in-flight batches). */
async function consumeUntil(target: number): Promise<void> {
  const poller = new SqsPoller({
    sqs,
    queueUrl: process.env.TASK_QUEUE_URL ?? '',
    handler: handler as unknown as SqsHandler,
    batchSize,
    maxConcurrency,
    functionTimeoutMs: 120_000,
    waitTimeSeconds: 1,
  }).start();
  const deadline = Date.now() + 600_000;
  for (;;) {
    done = await finished();
    if (done >= target) break;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${target} tasks finished`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await poller.stop();
  done = await finished();
  invocations += poller.stats.invocations;
  if (poller.stats.handlerErrors > 0) throw new Error(`${poller.stats.handlerErrors} handler errors`);
}

function checkpoint(): void {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  checkpoints.push({ tasks: done, heapUsed: m.heapUsed, rss: m.rss, external: m.external });
}

const t0 = performance.now();
await consumeUntil(warmup);
checkpoint();
for (let next = warmup + every; next < total; next += every) {
  await consumeUntil(next);
  checkpoint();
}
await consumeUntil(total);
checkpoint();
const wallMs = performance.now() - t0;
clearInterval(sampler);
process.stdout.write(
  `${JSON.stringify({
    tasks: done,
    invocations,
    wallMs,
    peakRss: Math.max(peakSampled, process.resourceUsage().maxRSS * 1024),
    peakRssSampled: peakSampled,
    checkpoints,
    // Where the RSS is at the end: V8's heap spaces as committed in memory, and the rest.
    heapSpacesPhysical: Object.fromEntries(
      v8.getHeapSpaceStatistics().map((sp) => [sp.space_name, sp.physical_space_size]),
    ),
    memoryUsage: process.memoryUsage(),
  })}\n`,
);
await closeClients();
process.exit(0);
