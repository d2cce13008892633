/**
 * Scheduled every minute: arms the durable timers that have come within SQS's 900 s of their due
 * time and sends again those whose message produced no effect (lib/engine/fire-timers.ts,
 * docs/durable-waits.md). Invocable on its own, e.g. through serverless-offline's lambda port as
 * playbook-service-local-fireTimers.
 */
import { fireTimers } from '../lib/engine/fire-timers.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { scheduledHandler } from '../lib/lambda/scheduled.js';
import { logger } from '../lib/observability.js';
import { fireTimersDeps } from '../lib/wiring/approvals.js';

handlerPrelude(['mongo', 'queue', 'timers']);

/** Time kept back at the end of an invocation: no new page of due timers is started in it. */
const RESERVE_MS = 10_000;

export const handler = scheduledHandler(async (context) => {
  const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - RESERVE_MS);
  const report = await fireTimers(fireTimersDeps(), deadline);
  logger.info('timers sweep', { ...report });
  return report;
});
