/**
 * Scheduled every minute: starts the runs of the playbook schedules that are due, at most one
 * per schedule slot whatever the retries or overlapping invocations (lib/engine/run-schedules.ts).
 * Invocable on its own, e.g. through serverless-offline's lambda port as
 * playbook-service-local-runSchedules.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { type RunSchedulesReport, runSchedules } from '../lib/engine/run-schedules.js';
import { handlerPrelude } from '../lib/http/prelude.js';
import { logger, metrics } from '../lib/observability.js';
import { runSchedulesDeps } from '../lib/services/triggers.js';
import { tracingMiddleware } from '../lib/tracing.js';

handlerPrelude(['mongo', 'redis', 'cache', 'queue', 'schedules']);

/** Time kept back at the end of an invocation: no new page of due schedules is started in it. */
const RESERVE_MS = 10_000;

export const handler = middy<ScheduledEvent, RunSchedulesReport, Error, Context>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(async (_event, context) => {
    const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - RESERVE_MS);
    const report = await runSchedules(runSchedulesDeps(), deadline);
    logger.info('schedules sweep', { ...report });
    return report;
  });
