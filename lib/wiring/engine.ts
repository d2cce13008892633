/** executeTask: integrations, secrets, sub-playbooks, durable waits and per-tenant fairness. */
import { randomUUID } from 'node:crypto';
import { createRunGraphs } from '../adapters/cache/run-graphs.js';
import { createIntegrationClient } from '../adapters/http/integration-client.js';
import { createTenantSlots } from '../adapters/redis/tenant-slots.js';
import { createSsmSecretResolver, defaultSecretsPrefix } from '../adapters/secrets/ssm-secrets.js';
import { getHttpAgents } from '../clients/http.js';
import { getRedis } from '../clients/redis.js';
import { getSsm } from '../clients/ssm.js';
import { getConfig, isLocalStage } from '../config.js';
import type { ExecuteBatchDeps } from '../engine/execute-batch.js';
import { createFairness, type Fairness } from '../engine/fairness.js';
import type { UndoDeps } from '../engine/undo.js';
import { timerDeps, timerStore, waitStore } from './approvals.js';
import { cacheKeyPrefix, playbookCache, redisGuard } from './catalog.js';
import { once } from './once.js';
import { runStore, taskQueue, undoStore } from './runs.js';

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

/** Running undos in the consumer (containments, lib/engine/undo.ts): integrations and secrets as for http tasks. */
export const undoDeps = once(
  (): UndoDeps => ({
    ...timerDeps(),
    runs: runStore(),
    undos: undoStore(),
    integrations: integrations(),
    secrets: secretResolver(),
    random: Math.random,
    leaseMarginMs: getConfig('engine').TASK_LEASE_MARGIN_MS,
  }),
);

/** The graphs of pinned playbook versions: container memory, then the playbook cache's Redis copy. */
const runGraphs = once(() => {
  const cfg = getConfig('cache');
  return createRunGraphs(redisGuard(), {
    maxEntries: cfg.PLAYBOOK_CACHE_L1_MAX_ENTRIES,
    maxBytes: cfg.PLAYBOOK_CACHE_L1_MAX_BYTES,
    keyPrefix: cacheKeyPrefix(),
  });
});

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
    workBudget: getConfig('engine').RUN_WORK_BUDGET,
    graphs: runGraphs(),
    commit: {
      windowMs: getConfig('engine').TASK_COMMIT_WINDOW_MS,
      maxResults: getConfig('engine').TASK_COMMIT_MAX_RESULTS,
    },
    children: {
      playbooks: playbookCache(),
      runs: runStore(),
      queue: taskQueue(),
      maxDepth: getConfig('engine').SUBPLAYBOOK_MAX_DEPTH,
      workBudget: getConfig('engine').RUN_WORK_BUDGET,
    },
    timers: timerStore(),
    waits: {
      store: waitStore(),
      policy: timerDeps().policy,
      ...(getConfig('approvals').PUBLIC_BASE_URL ? { baseUrl: getConfig('approvals').PUBLIC_BASE_URL } : {}),
    },
    undo: undoDeps(),
  }),
);

/** Per-tenant fairness of executeTask: slots in Redis (namespaced like the caches), deferral through the queue. */
export const fairness: () => Fairness = once(() => {
  const cfg = getConfig('fairness');
  return createFairness({
    slots: createTenantSlots(getRedis(), {
      keyPrefix: cacheKeyPrefix(),
      parkedHorizonMs: (2 * cfg.FAIRNESS_MAX_DEFER_SECONDS + 60) * 1000,
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
