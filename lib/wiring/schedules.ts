/** Schedules: their MongoDB store, managing them (the triggers function) and runSchedules. No SSM, no webhook key. */
import { randomUUID } from 'node:crypto';
import { createScheduleStore } from '../adapters/mongo/schedule-store.js';
import { getDb } from '../clients/mongo.js';
import { getConfig } from '../config.js';
import type { RunSchedulesDeps } from '../engine/run-schedules.js';
import type { ScheduleDeps } from '../engine/schedules.js';
import { auditLog } from './audit.js';
import { playbookCache, playbookStore } from './catalog.js';
import { once } from './once.js';
import { runStore, taskQueue } from './runs.js';

const scheduleStore = once(() => createScheduleStore(getDb()));

/** Managing schedules (the triggers function). */
export const scheduleDeps = once(
  (): ScheduleDeps => ({
    schedules: scheduleStore(),
    playbooks: { getByName: (t, n) => playbookStore().findByName(t, n) },
    clock: Date.now,
    newId: randomUUID,
    audit: auditLog(),
  }),
);

/** The scheduled runSchedules function. */
export const runSchedulesDeps = once((): RunSchedulesDeps => {
  const cfg = getConfig('schedules');
  return {
    schedules: scheduleStore(),
    playbooks: playbookCache(),
    runs: runStore(),
    queue: taskQueue(),
    audit: auditLog(),
    clock: Date.now,
    pageSize: cfg.SCHEDULES_PAGE_SIZE,
    concurrency: cfg.SCHEDULES_CONCURRENCY,
  };
});
