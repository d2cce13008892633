/**
 * Scheduled every minute: arms the durable timers that have come within SQS's 900 s of their due
 * time and sends again those whose message produced no effect (lib/engine/fire-timers.ts,
 * docs/durable-waits.md). Invocable on its own, e.g. through serverless-offline's lambda port as
 * playbook-service-local-fireTimers.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { type FireTimersReport, fireTimers } from '../lib/engine/fire-timers.js';
import { handlerPrelude } from '../lib/http/prelude.js';
import { logger, metrics } from '../lib/observability.js';
import { tracingMiddleware } from '../lib/tracing.js';
import { fireTimersDeps } from '../lib/wiring/approvals.js';

handlerPrelude(['mongo', 'queue', 'timers']);

/** Time kept back at the end of an invocation: no new page of due timers is started in it. */
const RESERVE_MS = 10_000;

export const handler = middy<ScheduledEvent, FireTimersReport, Error, Context>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(async (_event, context) => {
    const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - RESERVE_MS);
    const report = await fireTimers(fireTimersDeps(), deadline);
    logger.info('timers sweep', { ...report });
    return report;
  });
