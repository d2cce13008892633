/**
 * The composition root: adapters built once per container over the shared
 * clients, wired into the engine's ports. Handlers get their dependencies here.
 */
import { randomUUID } from 'node:crypto';
import { createPlaybookCache, invalidatingStore, type PlaybookCache } from './adapters/cache/playbook-cache.js';
import { createRedisGuard, type RedisGuard } from './adapters/cache/redis-guard.js';
import { createTopPlaybooksCache } from './adapters/cache/top-playbooks-cache.js';
import { createIdempotency } from './adapters/dynamodb/idempotency.js';
import { createIntegrationClient } from './adapters/http/integration-client.js';
import { createAnalyticsStore } from './adapters/mongo/analytics-store.js';
import { createMaintenanceStore } from './adapters/mongo/maintenance-store.js';
import { createPlaybookStore } from './adapters/mongo/playbook-store.js';
import { createRunStore } from './adapters/mongo/run-store.js';
import { createTenantSlots } from './adapters/redis/tenant-slots.js';
import { createSsmSecretResolver, defaultSecretsPrefix } from './adapters/secrets/ssm-secrets.js';
import { createTaskQueue } from './adapters/sqs/task-queue.js';
import { getDb, getDynamoDb, getHttpAgents, getRedis, getSqs, getSsm } from './clients.js';
import { getConfig, isLocalStage } from './config.js';
import type { DeadLetterDeps } from './engine/dead-letters.js';
import type { ExecuteBatchDeps } from './engine/execute-batch.js';
import { createFairness, type Fairness } from './engine/fairness.js';
import type { Idempotency, PlaybookStore, RunStore, TaskQueue } from './engine/ports.js';
import type { ReapDeps } from './engine/reap-runs.js';
import type { RedriveDeps } from './engine/redrive.js';
import type { StartRunDeps } from './engine/start-run.js';
import type { TopPlaybooksDeps } from './engine/top-playbooks.js';

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

export const playbookStore: () => PlaybookStore = once(() => createPlaybookStore(getDb()));

/** Redis keys are namespaced by database: stages (or test files) sharing one Redis never mix. */
const cacheKeyPrefix = () => `${getConfig('mongo').MONGO_DB}:`;

/** The container's best-effort Redis access for caches. */
export const redisGuard: () => RedisGuard = once(() => createRedisGuard(getRedis()));

/** The container's two-level cache of current playbook definitions (docs/cache.md). */
export const playbookCache: () => PlaybookCache = once(() => {
  const cfg = getConfig('cache');
  return createPlaybookCache(playbookStore(), redisGuard(), {
    l1MaxEntries: cfg.PLAYBOOK_CACHE_L1_MAX_ENTRIES,
    l1MaxBytes: cfg.PLAYBOOK_CACHE_L1_MAX_BYTES,
    l1TtlMs: cfg.PLAYBOOK_CACHE_L1_TTL_MS,
    trustMs: cfg.PLAYBOOK_CACHE_TRUST_MS,
    l2TtlSeconds: cfg.PLAYBOOK_CACHE_L2_TTL_SECONDS,
    pointerTtlSeconds: cfg.PLAYBOOK_CACHE_POINTER_TTL_SECONDS,
    keyPrefix: cacheKeyPrefix(),
  });
});

/** The playbook store the management API writes through: every write refreshes the cache. */
export const playbookCatalog: () => PlaybookStore = once(() => invalidatingStore(playbookStore(), playbookCache()));
export const runStore: () => RunStore = once(() => createRunStore(getDb()));
export const taskQueue: () => TaskQueue = once(() => createTaskQueue(getSqs(), getConfig('queue').TASK_QUEUE_URL));
export const idempotency: () => Idempotency = once(() => {
  const cfg = getConfig('idempotency');
  return createIdempotency(getDynamoDb(), cfg.IDEMPOTENCY_TABLE, cfg.IDEMPOTENCY_TTL_SECONDS);
});

const integrations = once(() => {
  const cfg = getConfig('engine');
  return createIntegrationClient({
    agents: getHttpAgents(),
    maxResponseBytes: cfg.HTTP_RESPONSE_MAX_BYTES,
    // Only the local stage may call loopback/private targets (a developer's own services).
    allowPrivate: isLocalStage(),
    allowedHosts: cfg.INTEGRATION_ALLOWED_HOSTS,
  });
});

/** Integration secrets for http task templates (SSM Parameter Store, cached per container). */
const secretResolver = once(() => {
  const cfg = getConfig('secrets');
  return createSsmSecretResolver({
    client: getSsm(),
    prefix: cfg.SECRETS_SSM_PREFIX ?? defaultSecretsPrefix(getConfig('service').STAGE),
    maxAgeSeconds: cfg.SECRETS_CACHE_MAX_AGE_SECONDS,
  });
});

/** Dependencies of startRun. */
export const startRunDeps = once(
  (): StartRunDeps => ({
    playbooks: playbookCache(),
    runs: runStore(),
    queue: taskQueue(),
    clock: Date.now,
    newId: randomUUID,
  }),
);

/** Dependencies of executeBatch. */
export const executeBatchDeps = once(
  (): ExecuteBatchDeps => ({
    runs: runStore(),
    queue: taskQueue(),
    integrations: integrations(),
    clock: Date.now,
    newToken: randomUUID,
    random: Math.random,
    outputMaxBytes: getConfig('engine').TASK_OUTPUT_MAX_BYTES,
    leaseMarginMs: getConfig('engine').TASK_LEASE_MARGIN_MS,
    secrets: secretResolver(),
    children: {
      playbooks: playbookCache(),
      runs: runStore(),
      queue: taskQueue(),
      maxDepth: getConfig('engine').SUBPLAYBOOK_MAX_DEPTH,
    },
  }),
);

const maintenance = once(() => createMaintenanceStore(getDb()));

/** Dependencies of the reaper. */
export const reapDeps = once(
  (): ReapDeps => ({
    runs: runStore(),
    stale: maintenance(),
    queue: taskQueue(),
    clock: Date.now,
    newToken: randomUUID,
  }),
);

/** Dependencies of the dead-letter handler. */
export const deadLetterDeps = once(
  (): DeadLetterDeps => ({ runs: runStore(), deadLetters: maintenance(), queue: taskQueue(), clock: Date.now }),
);

/** Dependencies of the top-playbooks computation and its read API. */
export const topPlaybooksDeps = once((): TopPlaybooksDeps => {
  const cfg = getConfig('analytics');
  return {
    store: createAnalyticsStore(getDb()),
    cache: createTopPlaybooksCache(redisGuard(), {
      keyPrefix: cacheKeyPrefix(),
      ttlSeconds: 3 * cfg.TOP_PLAYBOOKS_RATE_MINUTES * 60,
    }),
    clock: Date.now,
    windowDays: cfg.ANALYTICS_WINDOW_DAYS,
  };
});

/** Per-tenant fairness of executeTask: slots in Redis (namespaced like the caches), deferral through the queue. */
export const fairness: () => Fairness = once(() => {
  const cfg = getConfig('fairness');
  return createFairness({
    slots: createTenantSlots(getRedis(), {
      keyPrefix: cacheKeyPrefix(),
      deferredHorizonMs: (2 * cfg.FAIRNESS_MAX_DEFER_SECONDS + 60) * 1000,
    }),
    queue: taskQueue(),
    capFor: (tenant) => cfg.TENANT_MAX_RUNNING_OVERRIDES.get(tenant) ?? cfg.TENANT_MAX_RUNNING_TASKS,
    deferSeconds: cfg.FAIRNESS_DEFER_SECONDS,
    maxDeferSeconds: cfg.FAIRNESS_MAX_DEFER_SECONDS,
    leaseMarginMs: getConfig('engine').TASK_LEASE_MARGIN_MS,
    random: Math.random,
    clock: Date.now,
  });
});

/** Dependencies of redrive. */
export const redriveDeps = once((): RedriveDeps => ({ runs: runStore(), queue: taskQueue(), clock: Date.now }));
