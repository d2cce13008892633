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
  action: 'run.start' | 'run.cancel' | 'run.redrive',
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

/** A run started by `actor` through `trigger` (the API: the caller's sub). */
export function runStarted(exec: ExecutionRecord, actor: string, trigger = 'api'): AuditEntry {
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
