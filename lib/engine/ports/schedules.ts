/** Playbook schedules and their slots (lib/engine/run-schedules.ts). */
import type { AuditEntry } from '../../domain/audit.js';
import type { ScheduleSpec } from '../../domain/schedule-time.js';
import type { TaskError } from '../model.js';

/** How the last slot of a schedule went. */
export interface ScheduleLastRun {
  slot: number;
  /** The run started for it (absent when none could be). */
  peid?: string;
  /** Why no run was started (the playbook is gone or inactive), or why it failed to start. */
  error?: TaskError;
  at: number;
}

export type StoredSchedule = ScheduleSpec & {
  tenant_code: string;
  playbook_name: string;
  alert_json: string;
  enabled: boolean;
  /** The next slot (epoch ms); null while disabled. */
  next_run_at: number | null;
  created_at: number;
  updated_at: number;
  updated_by: string;
  last_run?: ScheduleLastRun;
};

/** Where a page of due schedules ended (they are read in (next_run_at, id) order). */
export interface DueCursor {
  next_run_at: number;
  id: string;
}

export interface ScheduleStore {
  get(tenant_code: string, playbook_name: string): Promise<StoredSchedule | null>;
  /**
   * Creates or replaces the playbook's schedule (its creation time and last run are kept); the
   * stored schedule. `audit` is written pending on it in the same write (lib/engine/audit.ts).
   */
  put(schedule: Omit<StoredSchedule, 'created_at' | 'last_run'>, audit?: AuditEntry): Promise<StoredSchedule>;
  /**
   * False when there was none. With `audit`, the deletion is a tombstone carrying the entry (no
   * read returns it, it has no next slot), removed when the entry is published.
   */
  remove(tenant_code: string, playbook_name: string, audit?: AuditEntry): Promise<boolean>;
  /** Schedules of every tenant whose next slot is at or before `now`, in (next_run_at, id) order after `after`. */
  due(now: number, limit: number, after?: DueCursor): Promise<Array<StoredSchedule & { id: string }>>;
  /**
   * Moves the schedule from `slot` to `next` and records how `slot` went, only if it is still
   * at `slot` (another invocation, or a PUT, may have moved it): true if this call did.
   */
  advance(id: string, slot: number, next: number | null, last: ScheduleLastRun): Promise<boolean>;
}

/** The key of a playbook's schedule (one per playbook): its document's id, and its audit source's. */
export function scheduleKey(tenant_code: string, playbook_name: string): string {
  return `${tenant_code}/${playbook_name}`;
}
