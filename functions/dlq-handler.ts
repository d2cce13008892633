/** SQS consumer of the task DLQ: fail the task and its run so a poison message cannot leave a run hanging. */
import { failDeadLetters } from '../lib/engine/dead-letters.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { sqsHandler } from '../lib/lambda/sqs.js';
import { tracingMiddleware } from '../lib/tracing.js';
import { deadLetterDeps } from '../lib/wiring/maintenance.js';

handlerPrelude(['mongo', 'queue']);

// All-or-nothing: a failure here leaves the batch on the DLQ for the next attempt.
export const handler = sqsHandler(async (bodies) => {
  await failDeadLetters(deadLetterDeps(), bodies);
}, tracingMiddleware());
