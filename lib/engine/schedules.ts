/**
 * A playbook's schedule: set (replace), read, delete. Setting or enabling a schedule computes its
 * next slot from now, so slots missed while it was disabled (or before it existed) are never
 * caught up. Each use case takes the acting user: it is where the audit entry of the action goes.
 */
import { cronProblem, nextSlot, type ScheduleSpec } from '../domain/schedule-time.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { recordAudit } from './audit.js';
import { scheduleEntry, scheduleSource } from './audit-entries.js';
import type { AuditOutbox } from './ports/audit.js';
import type { PlaybookSource } from './ports/playbook-source.js';
import { type ScheduleLastRun, type ScheduleStore, type StoredSchedule, scheduleKey } from './ports/schedules.js';
import type { Actor } from './webhooks.js';

export interface ScheduleDeps {
  schedules: ScheduleStore;
  /** The tenant's playbooks as stored (management reads: read-your-writes). */
  playbooks: PlaybookSource;
  clock: () => number;
  /** A new id per change (the audit entry's id: a schedule is written again and again under one key). */
  newId: () => string;
  /** Where the audit entries of sets and deletes go. */
  audit: AuditOutbox;
}

export type ScheduleInput = ScheduleSpec & { alert: Record<string, unknown>; enabled: boolean };

export type ScheduleView = ScheduleSpec & {
  playbook_name: string;
  alert: Record<string, unknown>;
  enabled: boolean;
  /** The next slot a run starts for (epoch ms); null while disabled. */
  next_run_at: number | null;
  created_at: number;
  updated_at: number;
  updated_by: string;
  last_run: ScheduleLastRun | null;
};

function specOf(s: ScheduleSpec): ScheduleSpec {
  return 'cron' in s ? { cron: s.cron.trim().replace(/\s+/g, ' ') } : { every_minutes: s.every_minutes };
}

function view(s: StoredSchedule): ScheduleView {
  return {
    playbook_name: s.playbook_name,
    ...specOf(s),
    alert: JSON.parse(s.alert_json) as Record<string, unknown>,
    enabled: s.enabled,
    next_run_at: s.next_run_at,
    created_at: s.created_at,
    updated_at: s.updated_at,
    updated_by: s.updated_by,
    last_run: s.last_run ?? null,
  };
}

/** Creates or replaces the schedule of the actor's playbook. */
export async function setSchedule(
  deps: ScheduleDeps,
  actor: Actor,
  playbook_name: string,
  input: ScheduleInput,
): Promise<ScheduleView> {
  const spec = specOf(input);
  if ('cron' in spec) {
    const problem = cronProblem(spec.cron);
    if (problem) throw new ValidationError('invalid schedule', [{ path: 'cron', message: problem }]);
  }
  if (!(await deps.playbooks.getByName(actor.tenant_code, playbook_name))) {
    throw new NotFoundError(`playbook '${playbook_name}' not found`);
  }
  const now = deps.clock();
  const schedule = {
    ...spec,
    tenant_code: actor.tenant_code,
    playbook_name,
    alert_json: JSON.stringify(input.alert),
    enabled: input.enabled,
    next_run_at: input.enabled ? nextSlot(spec, now) : null,
    updated_at: now,
    updated_by: actor.sub,
  };
  const entry = scheduleEntry('schedule.set', schedule, actor.sub, now, deps.newId());
  const stored = await deps.schedules.put(schedule, entry);
  await recordAudit(
    deps.audit,
    scheduleSource(scheduleKey(actor.tenant_code, playbook_name), actor.tenant_code),
    entry,
  );
  return view(stored);
}

/** The schedule of the tenant's playbook; 404 when it has none. */
export async function getSchedule(
  deps: ScheduleDeps,
  tenant_code: string,
  playbook_name: string,
): Promise<ScheduleView> {
  const s = await deps.schedules.get(tenant_code, playbook_name);
  if (!s) throw new NotFoundError(`playbook '${playbook_name}' has no schedule`);
  return view(s);
}

/** Deletes the schedule of the actor's playbook; 404 when it has none. */
export async function deleteSchedule(deps: ScheduleDeps, actor: Actor, playbook_name: string): Promise<void> {
  const ref = { tenant_code: actor.tenant_code, playbook_name };
  const entry = scheduleEntry('schedule.delete', ref, actor.sub, deps.clock(), deps.newId());
  if (!(await deps.schedules.remove(actor.tenant_code, playbook_name, entry))) {
    throw new NotFoundError(`playbook '${playbook_name}' has no schedule`);
  }
  await recordAudit(
    deps.audit,
    scheduleSource(scheduleKey(actor.tenant_code, playbook_name), actor.tenant_code, true),
    entry,
  );
}
