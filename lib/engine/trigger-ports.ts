/**
 * What webhooks and schedules need from the outside world (MongoDB, Redis, the webhook key in
 * SSM); adapters in lib/adapters implement these.
 */
import type { ScheduleSpec } from '../domain/schedule-time.js';
import type { TaskError } from './model.js';

/** A playbook's webhook. No secret: it is derived from the service's key, the id and the salt. */
export interface StoredWebhook {
  hook_id: string;
  tenant_code: string;
  playbook_name: string;
  salt: string;
  /** Template mappings over the request body (`{{ jsonata }}`); absent: a new id / the whole body. */
  alert_id?: string;
  alert?: string;
  created_at: number;
  created_by: string;
}

export interface WebhookStore {
  insert(hook: StoredWebhook): Promise<void>;
  /** By id alone: a delivery names only its hook (the id is 128 random bits). */
  findById(hook_id: string): Promise<StoredWebhook | null>;
  /** A playbook's hooks, oldest first, at most `limit`. */
  listByPlaybook(tenant_code: string, playbook_name: string, limit: number): Promise<StoredWebhook[]>;
  /** Deletes one hook of the tenant's playbook; false when there is none. */
  remove(tenant_code: string, playbook_name: string, hook_id: string): Promise<boolean>;
}

/** The service's webhook key (the secrets are derived from it). */
export interface WebhookKeySource {
  key(): Promise<Uint8Array>;
}

/** A per-hook request budget, shared by every container. */
export interface WebhookRateLimiter {
  /** Takes one request from the hook's budget: allowed, or how long until one is available. */
  take(hook_id: string): Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }>;
}

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
  /** Creates or replaces the playbook's schedule (its creation time and last run are kept); the stored schedule. */
  put(schedule: Omit<StoredSchedule, 'created_at' | 'last_run'>): Promise<StoredSchedule>;
  /** False when there was none. */
  remove(tenant_code: string, playbook_name: string): Promise<boolean>;
  /** Schedules of every tenant whose next slot is at or before `now`, in (next_run_at, id) order after `after`. */
  due(now: number, limit: number, after?: DueCursor): Promise<Array<StoredSchedule & { id: string }>>;
  /**
   * Moves the schedule from `slot` to `next` and records how `slot` went, only if it is still
   * at `slot` (another invocation, or a PUT, may have moved it): true if this call did.
   */
  advance(id: string, slot: number, next: number | null, last: ScheduleLastRun): Promise<boolean>;
}
