/**
 * The task consumer as Lambda runs it: the real executeTask handler fed by the
 * Lambda-like SQS poller (test/support/sqs-poller.ts) from the real local queue.
 * The poller gets an SQS client of its own, as the event source mapping is not
 * the function's client (so it is not counted in the function's round trips).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../lib/clients.js';
import { parseTaskMessage } from '../../lib/engine/task-messages.js';
import { type SqsHandler, SqsPoller } from '../../test/support/sqs-poller.js';
import { deployedConsumerShape } from './deployed.js';
import type { BenchEnv } from './env.js';

export interface ConsumerShape {
  batchSize: number;
  maxConcurrency: number;
}

/** executeTask's event source mapping as serverless.yml deploys it (taskBatchSize, taskMaxConcurrency). */
export const DEPLOYED: ConsumerShape = deployedConsumerShape();

export interface Consumer {
  /** The event source's own SQS client (receives and deletes; not the function's). */
  readonly client: SQSClient;
  /** Starts a poller of this shape (stopping any previous one first). */
  start(shape: ConsumerShape): Promise<SqsPoller>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** A consumer over the run's task queue; `handler` is functions/execute-task.ts's handler. */
export function createConsumer(env: BenchEnv, handler: unknown): Consumer {
  const sqs = createSqsClient(env.endpoints.region, env.endpoints.sqsEndpoint);
  let current: SqsPoller | undefined;
  return {
    client: sqs,
    async start(shape) {
      await current?.stop();
      current = new SqsPoller({
        sqs,
        queueUrl: env.queueUrl,
        handler: handler as SqsHandler,
        batchSize: shape.batchSize,
        maxConcurrency: shape.maxConcurrency,
        functionTimeoutMs: 120_000,
        waitTimeSeconds: 1,
      }).start();
      return current;
    },
    async stop() {
      await current?.stop();
      current = undefined;
    },
    async close() {
      await current?.stop();
      sqs.destroy();
    },
  };
}

/**
 * Counts deliveries of a task attempt already delivered: fairness's copies (a deferral's
 * delayed copy, a promotion) and redeliveries after a failure.
 */
export function redeliveryCounter() {
  let seen = new Set<string>();
  let count = 0;
  // Not reset: read as a difference between two snapshots.
  let slices = 0;
  return {
    observe(records: ReadonlyArray<{ body: string }>): void {
      const runs = new Set<string>();
      for (const r of records) {
        // One task attempt, whatever the copy: fairness's delayed copies carry a `deferred` mark.
        const m = parseTaskMessage(r.body);
        const id = m ? `${m.peid}:${m.task_id}#${m.attempt}` : r.body;
        if (m) runs.add(m.peid);
        if (seen.has(id)) count += 1;
        else seen.add(id);
      }
      slices += runs.size;
    },
    get count(): number {
      return count;
    },
    /** Over every event observed: the number of distinct runs its messages belong to, summed. */
    get runSlices(): number {
      return slices;
    },
    reset(): void {
      seen = new Set();
      count = 0;
    },
  };
}
