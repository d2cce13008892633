/**
 * Scheduled (EventBridge, every TOP_PLAYBOOKS_RATE_MINUTES): computes every tenant's
 * top-playbooks report and stores it for GET /analytics/top-playbooks.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { computeTopPlaybooks } from '../lib/engine/top-playbooks.js';
import { handlerPrelude } from '../lib/http/prelude.js';
import { logger, metrics } from '../lib/observability.js';
import { topPlaybooksDeps } from '../lib/services/analytics.js';
import { tracingMiddleware } from '../lib/tracing.js';

handlerPrelude(['mongo', 'redis', 'analytics']);

export const handler = middy<ScheduledEvent, { tenants: number; generated_at: number }, Error, Context>()
  .use(tracingMiddleware())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  // A failed run throws: EventBridge's async invocation retries it, and the last report stays served.
  .handler(async () => computeTopPlaybooks(topPlaybooksDeps()));
