/**
 * The composition root, one module per concern under lib/wiring/ so each
 * function bundles only the adapters (and SDKs) it uses. This barrel is for
 * tests, benches and scripts; functions import the modules they need.
 */
export { topPlaybooksDeps } from './analytics.js';
export { auditLog } from './audit.js';
export { cacheKeyPrefix, playbookCache, playbookCatalog, playbookStore, redisGuard } from './catalog.js';
export { executeBatchDeps, fairness, undoDeps } from './engine.js';
export { deadLetterDeps, reapDeps, redriveDeps, rollbackDeps } from './maintenance.js';
export { runStore, taskQueue, undoStore } from './runs.js';
export { idempotency, startRunDeps } from './start.js';
