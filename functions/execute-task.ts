/**
 * SQS consumer of the task queue: one batch, one executeBatch, partial batch failures reported.
 * Messages over their tenant's cap of running tasks are deferred first (lib/engine/fairness.ts).
 */
import { executeBatch } from '../lib/engine/execute-batch.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { sqsBatchHandler } from '../lib/lambda/sqs.js';
import { executeBatchDeps, fairness } from '../lib/wiring/engine.js';

handlerPrelude(['mongo', 'queue', 'engine', 'redis', 'cache', 'fairness', 'secrets', 'timers']);

export const handler = sqsBatchHandler(async (items, context) => {
  const result = await fairness().run(items, context.getRemainingTimeInMillis(), (admitted) =>
    executeBatch(executeBatchDeps(), admitted, context.getRemainingTimeInMillis()),
  );
  return result.failedMessageIds;
});
