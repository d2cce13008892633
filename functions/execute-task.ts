/**
 * SQS consumer of the task queue: one batch, one executeBatch, partial batch failures reported.
 * Messages over their tenant's cap of running tasks are deferred first (lib/engine/fairness.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { executeBatch } from '../lib/engine/execute-batch.js';
import { handlerPrelude } from '../lib/http/prelude.js';
import { logger, metrics } from '../lib/observability.js';
import { executeBatchDeps, fairness } from '../lib/services/engine.js';

handlerPrelude(['mongo', 'queue', 'engine', 'redis', 'cache', 'fairness', 'secrets']);

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(async (event, context) => {
    const result = await fairness().run(
      event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
      context.getRemainingTimeInMillis(),
      (admitted) => executeBatch(executeBatchDeps(), admitted, context.getRemainingTimeInMillis()),
    );
    return { batchItemFailures: result.failedMessageIds.map((id) => ({ itemIdentifier: id })) };
  });
