/**
 * The composition root: adapters built once per container over the shared
 * clients, wired into the engine's ports. Handlers get their dependencies here.
 */
import { randomUUID } from 'node:crypto';
import { createIdempotency } from './adapters/dynamodb/idempotency.js';
import { createIntegrationClient } from './adapters/http/integration-client.js';
import { createPlaybookStore } from './adapters/mongo/playbook-store.js';
import { createRunStore } from './adapters/mongo/run-store.js';
import { createTaskQueue } from './adapters/sqs/task-queue.js';
import { getDb, getDynamoDb, getHttpAgents, getSqs } from './clients.js';
import { getConfig, isLocalStage } from './config.js';
import type { ExecuteBatchDeps } from './engine/execute-batch.js';
import type { Idempotency, PlaybookStore, RunStore, TaskQueue } from './engine/ports.js';
import type { StartRunDeps } from './engine/start-run.js';

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

export const playbookStore: () => PlaybookStore = once(() => createPlaybookStore(getDb()));
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

/** Dependencies of startRun. */
export const startRunDeps = once(
  (): StartRunDeps => ({
    playbooks: { getByName: (tenant, name) => playbookStore().findByName(tenant, name) },
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
  }),
);
