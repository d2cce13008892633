/**
 * Scheduled every minute: starts the runs of the playbook schedules that are due, at most one
 * per schedule slot whatever the retries or overlapping invocations (lib/engine/run-schedules.ts).
 * Invocable on its own, e.g. through serverless-offline's lambda port as
 * playbook-service-local-runSchedules.
 */
import { type RunSchedulesReport, runSchedules } from '../lib/engine/run-schedules.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { scheduledHandler } from '../lib/lambda/scheduled.js';
import { logger } from '../lib/observability.js';
import { runSchedulesDeps } from '../lib/wiring/schedules.js';

handlerPrelude(['mongo', 'redis', 'cache', 'queue', 'schedules']);

/** Time kept back at the end of an invocation: no new page of due schedules is started in it. */
const RESERVE_MS = 10_000;

export const handler = scheduledHandler(async (context): Promise<RunSchedulesReport> => {
  const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - RESERVE_MS);
  const report = await runSchedules(runSchedulesDeps(), deadline);
  logger.info('schedules sweep', { ...report });
  return report;
});
