/** Starting runs: idempotency (DynamoDB) and startRun's dependencies. */
import { randomUUID } from 'node:crypto';
import { createIdempotency } from '../adapters/dynamodb/idempotency.js';
import { getDynamoDb } from '../clients/dynamodb.js';
import { getConfig } from '../config.js';
import type { Idempotency } from '../engine/ports/idempotency.js';
import type { StartRunDeps } from '../engine/start-run.js';
import { auditLog } from './audit.js';
import { playbookCache } from './catalog.js';
import { once } from './once.js';
import { runStore, taskQueue } from './runs.js';

export const idempotency: () => Idempotency = once(() => {
  const cfg = getConfig('idempotency');
  return createIdempotency(getDynamoDb(), cfg.IDEMPOTENCY_TABLE, cfg.IDEMPOTENCY_TTL_SECONDS);
});

/** Dependencies of startRun. */
export const startRunDeps = once(
  (): StartRunDeps => ({
    playbooks: playbookCache(),
    runs: runStore(),
    queue: taskQueue(),
    clock: Date.now,
    newId: randomUUID,
    audit: auditLog(),
  }),
);
