/** The reaper, the dead-letter handler and redrive (MongoDB + SQS). */
import { randomUUID } from 'node:crypto';
import { createMaintenanceStore } from '../adapters/mongo/maintenance-store.js';
import { getDb } from '../clients/mongo.js';
import type { DeadLetterDeps } from '../engine/dead-letters.js';
import type { ReapDeps } from '../engine/reap-runs.js';
import type { RedriveDeps } from '../engine/redrive.js';
import type { RollbackDeps } from '../engine/rollback.js';
import { timerDeps, timerStore, waitStore } from './approvals.js';
import { auditLog } from './audit.js';
import { once } from './once.js';
import { runStore, taskQueue, undoStore } from './runs.js';

const maintenance = once(() => createMaintenanceStore(getDb()));

/** Dependencies of the reaper. */
export const reapDeps = once(
  (): ReapDeps => ({
    runs: runStore(),
    stale: maintenance(),
    queue: taskQueue(),
    clock: Date.now,
    newToken: randomUUID,
    waits: waitStore(),
    timers: timerStore(),
  }),
);

/** Dependencies of the dead-letter handler. */
export const deadLetterDeps = once(
  (): DeadLetterDeps => ({
    runs: runStore(),
    deadLetters: maintenance(),
    queue: taskQueue(),
    clock: Date.now,
    timers: timerStore(),
    undos: undoStore(),
  }),
);

/** Dependencies of redrive. */
export const redriveDeps = once(
  (): RedriveDeps => ({ runs: runStore(), queue: taskQueue(), clock: Date.now, audit: auditLog() }),
);

/** Dependencies of a rollback (the executions function): the run, its undo states, its rollback's timer. */
export const rollbackDeps = once(
  (): RollbackDeps => ({ ...timerDeps(), runs: runStore(), undos: undoStore(), audit: auditLog() }),
);
