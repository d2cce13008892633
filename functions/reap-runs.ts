/** Scheduled: unstick runs without progress (lost messages, dead workers) and fail runs past their maximum age. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { getConfig } from '../lib/config.js';
import { sweepAudit } from '../lib/engine/audit.js';
import { type ReapReport, reapRuns } from '../lib/engine/reap-runs.js';
import { handlerPrelude } from '../lib/http/prelude.js';
import { logger, metrics } from '../lib/observability.js';
import { auditLog } from '../lib/services/audit.js';
import { reapDeps } from '../lib/services/maintenance.js';
import { tracingMiddleware } from '../lib/tracing.js';

handlerPrelude(['mongo', 'queue', 'reaper', 'audit']);

export const handler = middy<ScheduledEvent, ReapReport, Error, Context>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async () => {
    const cfg = getConfig('reaper');
    const report = await reapRuns(reapDeps(), {
      staleAfterMs: cfg.REAP_STALE_AFTER_MS,
      maxRunAgeMs: cfg.RUN_MAX_AGE_MS,
      limit: cfg.REAP_BATCH_LIMIT,
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
