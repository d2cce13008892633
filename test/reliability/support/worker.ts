/**
 * A task-queue worker in its own process, for the crash tests: the Lambda-like poller
 * driving the real executeTask handler, configured from the environment the test
 * process passes down (database, queue, stage...). It prints `ready` once polling and
 * runs until it is killed (the test SIGKILLs it by PID) or sent SIGTERM.
 *   WORKER_FUNCTION_TIMEOUT_MS  the simulated function timeout (lease = deadline + margin)
 *   WORKER_CONCURRENCY          concurrent invocations
 */
import type { SqsHandler } from '../../support/sqs-poller.js';
import { SqsPoller } from '../../support/sqs-poller.js';

const { createSqsClient, closeClients } = await import('../../../lib/clients.js');
const { handler } = await import('../../../functions/execute-task.js');

const sqs = createSqsClient(process.env.AWS_REGION ?? 'us-east-1', process.env.SQS_ENDPOINT);
const poller = new SqsPoller({
  sqs,
  queueUrl: process.env.TASK_QUEUE_URL ?? '',
  handler: handler as unknown as SqsHandler,
  waitTimeSeconds: 1,
  maxConcurrency: Number(process.env.WORKER_CONCURRENCY ?? 2),
  functionTimeoutMs: Number(process.env.WORKER_FUNCTION_TIMEOUT_MS ?? 60_000),
}).start();
process.stdout.write('ready\n');

process.on('SIGTERM', () => {
  void poller
    .stop()
    .then(() => closeClients())
    .finally(() => {
      sqs.destroy();
      process.exit(0);
    });
});
