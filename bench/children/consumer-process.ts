/**
 * Child of the e2e-throughput case: one "Lambda container" — the real executeTask handler
 * behind the Lambda-like poller, one batch at a time, as Lambda gives a container one
 * invocation at a time — until SIGTERM. Bundled like the deployed function and run with its
 * NODE_OPTIONS (bench/lib/consumer-processes.ts). Prints "ready" once polling.
 */
import { handler } from '../../functions/execute-task.js';
import { closeClients, createSqsClient } from '../../lib/clients.js';
import { type SqsHandler, SqsPoller } from '../../test/support/sqs-poller.js';

const sqs = createSqsClient(process.env.AWS_REGION ?? 'us-east-1', process.env.SQS_ENDPOINT);
const poller = new SqsPoller({
  sqs,
  queueUrl: process.env.TASK_QUEUE_URL ?? '',
  handler: handler as unknown as SqsHandler,
  batchSize: Number(process.env.BENCH_CONSUMER_BATCH ?? 10),
  maxConcurrency: 1,
  functionTimeoutMs: 120_000,
  waitTimeSeconds: 1,
}).start();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await poller.stop();
    sqs.destroy();
    await closeClients();
    process.exit(0);
  })();
});
