/**
 * Scheduled: unstick runs without progress (lost messages, dead workers, waits whose timer never
 * acted) and fail runs past their maximum age (time spent waiting does not count).
 */
import { getConfig } from '../lib/config.js';
import { sweepAudit } from '../lib/engine/audit.js';
import { type ReapReport, reapRuns } from '../lib/engine/reap-runs.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { scheduledHandler } from '../lib/lambda/scheduled.js';
import { logger } from '../lib/observability.js';
import { auditLog } from '../lib/wiring/audit.js';
import { reapDeps } from '../lib/wiring/maintenance.js';

handlerPrelude(['mongo', 'queue', 'reaper', 'audit', 'timers']);

export const handler = scheduledHandler(async (): Promise<ReapReport> => {
  const cfg = getConfig('reaper');
  const report = await reapRuns(reapDeps(), {
    staleAfterMs: cfg.REAP_STALE_AFTER_MS,
    maxRunAgeMs: cfg.RUN_MAX_AGE_MS,
    limit: cfg.REAP_BATCH_LIMIT,
    // A waiting task this long past its deadline has lost its timer's messages: fired here.
    waitGraceMs: getConfig('timers').TIMER_REARM_GRACE_MS,
  });
  logger.info('reaper sweep', { ...report });
  // Also: audit entries left pending by writers that died (docs/audit.md).
  const audit = getConfig('audit');
  await sweepAudit(auditLog(), {
    now: Date.now(),
    graceMs: audit.AUDIT_OUTBOX_GRACE_MS,
    limit: audit.AUDIT_SWEEP_LIMIT,
  });
  return report;
});
