/** SQS consumer of the task DLQ: fail the task and its run so a poison message cannot leave a run hanging. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import { failDeadLetters } from '../lib/engine/dead-letters.js';
import { handlerPrelude } from '../lib/http/prelude.js';
import { logger, metrics } from '../lib/observability.js';
import { deadLetterDeps } from '../lib/services/maintenance.js';
import { tracingMiddleware } from '../lib/tracing.js';

handlerPrelude(['mongo', 'queue']);

export const handler = middy<SQSEvent, void, Error, Context>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (event) => {
    // All-or-nothing: a failure here leaves the batch on the DLQ for the next attempt.
    await failDeadLetters(
      deadLetterDeps(),
      event.Records.map((r) => r.body),
    );
  });
