/**
 * The entries of the actions wired so far. Each id names the change it records (the
 * playbook version a write created, the run attempt a cancel or redrive ended or began),
 * so a retried copy is the same entry. Details hold ids, versions, counts and statuses.
 */
import type { ApprovalAnswer } from '../domain/approval.js';
import { type AuditEntry, auditEntry } from './audit.js';
import { type ExecutionRecord, type StoredPlaybook, taskKey } from './model.js';
import type { AuditSource } from './ports/audit.js';

/** The playbook document a write changed; `deleted`: the write made it a tombstone. */
export function playbookSource(p: Pick<StoredPlaybook, 'pid' | 'tenant_code'>, deleted = false): AuditSource {
  return { kind: 'playbook', id: p.pid, tenant_code: p.tenant_code, ...(deleted ? { tombstone: true } : {}) };
}

export function executionSource(ref: { peid: string; tenant_code: string }): AuditSource {
  return { kind: 'execution', id: ref.peid, tenant_code: ref.tenant_code };
}

type PlaybookAction = 'playbook.create' | 'playbook.update' | 'playbook.restore' | 'playbook.delete';

/** The entry of a playbook write: `p` is the version it created (or, for a delete, the version deleted). */
export function playbookEntry(
  action: PlaybookAction,
  p: StoredPlaybook,
  actor: string,
  at: number,
  extra: Record<string, number> = {},
): AuditEntry {
  return auditEntry({
    id: action === 'playbook.delete' ? `playbook:${p.pid}:deleted` : `playbook:${p.pid}:v${p.version}`,
    tenant_code: p.tenant_code,
    at,
    actor,
    action,
    target: `playbook:${p.name}`,
    details: { pid: p.pid, version: p.version, status: p.status, tasks: p.tasks.length, ...extra },
  });
}

function runEntry(
  action: 'run.start' | 'run.cancel' | 'run.redrive' | 'run.rollback',
  exec: ExecutionRecord,
  actor: string,
  at: number,
  attempt: number,
  details: Record<string, string | number>,
): AuditEntry {
  return auditEntry({
    id: `execution:${exec.peid}:${action.slice(4)}:${attempt}`,
    tenant_code: exec.tenant_code,
    at,
    actor,
    action,
    target: `execution:${exec.peid}`,
    details: {
      playbook_name: exec.playbook_name,
      pid: exec.pid,
      playbook_version: exec.playbook_version,
      attempt,
      ...details,
    },
  });
}

/**
 * A run started by `actor` through `trigger`: the API (the caller's sub), a webhook
 * (`webhook:<hook_id>`) or a schedule (`schedule`).
 */
export function runStarted(exec: ExecutionRecord, actor: string, trigger = exec.trigger?.type ?? 'api'): AuditEntry {
  return runEntry('run.start', exec, actor, exec.createddate, 1, {
    alert_id: exec.alert_id,
    trigger,
    tasks: exec.tasks_total,
  });
}

/** A running run cancelled (its current attempt). */
export function runCancelled(exec: ExecutionRecord, actor: string, at: number): AuditEntry {
  return runEntry('run.cancel', exec, actor, at, exec.attempt ?? 1, {});
}

/** A failed or cancelled run started again as `attempt`, re-running `tasks` tasks. */
export function runRedriven(
  exec: ExecutionRecord,
  actor: string,
  at: number,
  attempt: number,
  tasks: number,
): AuditEntry {
  return runEntry('run.redrive', exec, actor, at, attempt, { previous_status: exec.execution_status, tasks });
}

/**
 * A run's attempt rolled back by `actor`: the run's status when it was (a running run is cancelled
 * first), and how many containments were still to undo. One per attempt of the run.
 */
export function runRolledBack(
  exec: ExecutionRecord,
  actor: string,
  at: number,
  attempt: number,
  undos: number,
  previous_status: string,
): AuditEntry {
  return runEntry('run.rollback', exec, actor, at, attempt, { previous_status, undos });
}

/** The task document a write changed (an approval's answer). */
export function taskSource(ref: { peid: string; tenant_code: string; task_id: string }): AuditSource {
  return { kind: 'task', id: taskKey(ref.peid, ref.task_id), tenant_code: ref.tenant_code };
}

/** An approval answered by `actor` (a user's sub, or `callback`); one per task attempt. */
export function approvalResponded(
  task: { peid: string; tenant_code: string; task_id: string; attempts: number },
  answer: ApprovalAnswer,
  actor: string,
): AuditEntry {
  return auditEntry({
    id: `task:${task.peid}:${task.task_id}:respond:${task.attempts}`,
    tenant_code: task.tenant_code,
    at: answer.at,
    actor,
    action: 'approval.respond',
    target: `execution:${task.peid}`,
    details: {
      task_id: task.task_id,
      attempt: task.attempts,
      choice: answer.choice,
      comment: answer.comment !== null,
    },
  });
}

/** A webhook document (`deleted`: the write made it a tombstone). */
export function webhookSource(hook: { hook_id: string; tenant_code: string }, deleted = false): AuditSource {
  return { kind: 'webhook', id: hook.hook_id, tenant_code: hook.tenant_code, ...(deleted ? { tombstone: true } : {}) };
}

/** A webhook created or deleted by `actor` (the hook id is 128 random bits: unique in every tenant's log). */
export function webhookEntry(
  action: 'webhook.create' | 'webhook.delete',
  hook: { hook_id: string; tenant_code: string; playbook_name: string; alert_id?: string; alert?: string },
  actor: string,
  at: number,
): AuditEntry {
  return auditEntry({
    id: `webhook:${hook.hook_id}:${action === 'webhook.create' ? 'created' : 'deleted'}`,
    tenant_code: hook.tenant_code,
    at,
    actor,
    action,
    target: `webhook:${hook.hook_id}`,
    details: {
      hook_id: hook.hook_id,
      playbook_name: hook.playbook_name,
      ...(action === 'webhook.create'
        ? { maps_alert_id: hook.alert_id !== undefined, maps_alert: hook.alert !== undefined }
        : {}),
    },
  });
}

/** A schedule document (`_id` = `tenant_code/playbook_name`; `deleted`: the write made it a tombstone). */
export function scheduleSource(id: string, tenant_code: string, deleted = false): AuditSource {
  return { kind: 'schedule', id, tenant_code, ...(deleted ? { tombstone: true } : {}) };
}

/**
 * A schedule set (created or replaced) or deleted by `actor`. A schedule is written again and again
 * under one key, so the entry's id carries `changeId` (a new id per change): one change, one entry,
 * whatever copy of it is retried. Never the schedule's alert (it is alert content).
 */
export function scheduleEntry(
  action: 'schedule.set' | 'schedule.delete',
  s: {
    tenant_code: string;
    playbook_name: string;
    cron?: string;
    every_minutes?: number;
    enabled?: boolean;
    next_run_at?: number | null;
  },
  actor: string,
  at: number,
  changeId: string,
): AuditEntry {
  return auditEntry({
    id: `schedule:${s.playbook_name}:${action === 'schedule.set' ? 'set' : 'deleted'}:${changeId}`,
    tenant_code: s.tenant_code,
    at,
    actor,
    action,
    target: `schedule:${s.playbook_name}`,
    details: {
      playbook_name: s.playbook_name,
      ...(s.cron !== undefined ? { cron: s.cron } : {}),
      ...(s.every_minutes !== undefined ? { every_minutes: s.every_minutes } : {}),
      ...(s.enabled !== undefined ? { enabled: s.enabled } : {}),
      ...(s.next_run_at !== undefined ? { next_run_at: s.next_run_at } : {}),
    },
  });
}
