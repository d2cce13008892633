/**
 * Approvals, waits and durable timers (MongoDB + SQS): the approvals and callbacks functions,
 * fireTimers, and what the consumer needs to start waits and handle timer messages.
 */
import { randomUUID } from 'node:crypto';
import { createTimerStore } from '../adapters/mongo/timer-store.js';
import { createWaitStore } from '../adapters/mongo/wait-store.js';
import { getDb } from '../clients/mongo.js';
import { getConfig } from '../config.js';
import type { ApprovalDeps } from '../engine/approvals.js';
import type { FireTimersDeps } from '../engine/fire-timers.js';
import type { TimerStore } from '../engine/ports/timers.js';
import type { WaitStore } from '../engine/ports/waits.js';
import type { TimerDeps } from '../engine/timers.js';
import type { WaitDeps } from '../engine/waits.js';
import { auditLog } from './audit.js';
import { once } from './once.js';
import { taskQueue } from './runs.js';

export const waitStore: () => WaitStore = once(() => createWaitStore(getDb()));
export const timerStore: () => TimerStore = once(() => createTimerStore(getDb()));

/** Answering approvals (the approvals and callbacks functions). */
export const approvalDeps = once(
  (): ApprovalDeps => ({
    waits: waitStore(),
    queue: taskQueue(),
    audit: auditLog(),
    clock: Date.now,
    timers: timerStore(),
  }),
);

/** Arming and sending timers. */
export const timerDeps = once((): TimerDeps => {
  const cfg = getConfig('timers');
  return {
    timers: timerStore(),
    queue: taskQueue(),
    clock: Date.now,
    newToken: randomUUID,
    policy: {
      graceMs: cfg.TIMER_REARM_GRACE_MS,
      maxBackoffMs: cfg.TIMER_MAX_BACKOFF_MS,
      maxSends: cfg.TIMER_MAX_SENDS,
    },
  };
});

/** The scheduled fireTimers function. */
export const fireTimersDeps = once(
  (): FireTimersDeps => ({ ...timerDeps(), pageSize: getConfig('timers').TIMER_PAGE_SIZE }),
);

/** The consumer's handling of timer messages (lib/engine/waits.ts). */
export const waitDeps = once(
  (): WaitDeps => ({ waits: waitStore(), timers: timerStore(), queue: taskQueue(), clock: Date.now }),
);
