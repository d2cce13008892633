/**
 * The composition root, one module per concern under lib/services/ so each
 * function bundles only the adapters (and SDKs) it uses. This barrel is for
 * tests, benches and scripts; functions import the modules they need.
 */
export { topPlaybooksDeps } from './services/analytics.js';
export { auditLog } from './services/audit.js';
export { cacheKeyPrefix, playbookCache, playbookCatalog, playbookStore, redisGuard } from './services/catalog.js';
export { executeBatchDeps, fairness } from './services/engine.js';
export { deadLetterDeps, reapDeps, redriveDeps } from './services/maintenance.js';
export { runStore, taskQueue } from './services/runs.js';
export { idempotency, startRunDeps } from './services/start.js';
