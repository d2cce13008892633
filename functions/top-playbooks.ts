/**
 * Scheduled (EventBridge, every TOP_PLAYBOOKS_RATE_MINUTES): computes every tenant's
 * top-playbooks report and stores it for GET /analytics/top-playbooks.
 */
import { computeTopPlaybooks } from '../lib/engine/top-playbooks.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { scheduledHandler } from '../lib/lambda/scheduled.js';
import { topPlaybooksDeps } from '../lib/wiring/analytics.js';

handlerPrelude(['mongo', 'redis', 'analytics']);

// A failed run throws: EventBridge's async invocation retries it, and the last report stays served.
export const handler = scheduledHandler(async () => computeTopPlaybooks(topPlaybooksDeps()));
