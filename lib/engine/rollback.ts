/**
 * Rolling a run back (docs/containment.md): `POST /executions/{peid}/rollback`.
 *
 *   1. A running run is cancelled first (run-lifecycle.ts endRun, audited as `run.cancel`); a run
 *      already ended repeats what follows its end (its open tasks cancelled), as a cancel does.
 *   2. Its rollback's start is recorded as a durable timer, due now, before anything depends on it.
 *   3. The run is marked rolled back at its attempt, with the `run.rollback` audit entry in the
 *      same write; a rollback of an attempt already rolled back changes nothing (and records nothing).
 *   4. The timer's message is sent: the consumer (undo.ts) starts the undos that can run now, and
 *      each undo that settles starts those it was holding back (reverse dependency order). If the
 *      request dies after 3, fireTimers sends the message (the timer is due): the rollback goes on.
 *
 * Nothing here calls an integration, and no worker waits: an undo is a message, claimed by a
 * conditional transition of the task's undo state (active -> undoing), so it runs once.
 */
import { undoOf } from '../domain/playbook-schema.js';
import { pendingUndos, readyUndos, type UndoNode } from '../domain/undo.js';
import { NotFoundError } from '../errors.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { recordAudit } from './audit.js';
import { executionSource, runCancelled, runRolledBack } from './audit-entries.js';
import type { ExecutionRecord, RunRef, TaskMessage, TaskRecord } from './model.js';
import type { AuditOutbox } from './ports/audit.js';
import type { RunEnds } from './ports/run-ends.js';
import type { RunRecords } from './ports/run-records.js';
import type { OutgoingTaskMessage, TaskQueue } from './ports/task-queue.js';
import type { UndoStore } from './ports/undo.js';
import { afterEnd, endRun } from './run-lifecycle.js';
import { recordTimer, sendTimerIfDue, type TimerDeps } from './timers.js';

/** The task id a rollback's start names (never a task's: task ids cannot contain parentheses). */
export const ROLLBACK_TASK_ID = '(rollback)';

export interface RollbackDeps extends TimerDeps {
  runs: RunRecords & RunEnds;
  undos: UndoStore;
  audit: AuditOutbox;
}

export interface RollbackAnswer {
  peid: string;
  execution_status: ExecutionRecord['execution_status'];
  /** The run attempt rolled back. */
  attempt: number;
  /** The run's containments whose undo is still to run (or may still appear), as of this answer. */
  undos: number;
}

/** A run's tasks as the rollback order sees them (a test run's mocked task has nothing to undo). */
export function undoNodes(tasks: TaskRecord[]): UndoNode[] {
  return tasks.map((t) => ({
    task_id: t.task_id,
    depends_on: t.def.depends_on,
    status: t.status,
    undoable: undoOf(t.def) !== undefined && t.mock === undefined,
    undo: t.undo ? { state: t.undo.state } : null,
  }));
}

/** True while the run's current attempt is being rolled back: its undos follow the reverse dependency order. */
export function rollingBack(exec: Pick<ExecutionRecord, 'rollback' | 'attempt'>): boolean {
  return exec.rollback !== undefined && exec.rollback.attempt === (exec.attempt ?? 1);
}

/** The first message of an undo: attempt 1 of the undo of the task's success (`gen`). */
export function undoMessage(t: Pick<TaskRecord, 'tenant_code' | 'peid' | 'task_id'>, gen: number): OutgoingTaskMessage {
  return {
    message: { v: 1, tenant_code: t.tenant_code, peid: t.peid, task_id: t.task_id, attempt: gen, undo: 1 },
    delaySeconds: 0,
  };
}

/** The message that (re)starts the undos of a run's rollback of `attempt` that can run now. */
export function rollbackMessage(ref: RunRef, attempt: number): OutgoingTaskMessage {
  return {
    message: { v: 1, tenant_code: ref.tenant_code, peid: ref.peid, task_id: ROLLBACK_TASK_ID, attempt, rollback: true },
    delaySeconds: 0,
  };
}

/** The undo messages of the tasks whose undo can start now (among `among`, if given). */
export function readyMessages(tasks: TaskRecord[], among?: ReadonlySet<string>): OutgoingTaskMessage[] {
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  return readyUndos(undoNodes(tasks), among).map((id) => {
    const t = byId.get(id) as TaskRecord;
    return undoMessage(t, t.undo?.gen ?? 1);
  });
}

/**
 * POST /executions/{peid}/rollback by `actor`: 404 for an unknown run or another tenant's; 202 for
 * any run otherwise, again and again (a rollback repeated for the same attempt changes nothing).
 */
export async function rollbackRun(deps: RollbackDeps, ref: RunRef, actor: string): Promise<RollbackAnswer> {
  let exec = await deps.runs.getExecution(ref);
  if (!exec) throw new NotFoundError(`execution '${ref.peid}' not found`);
  const now = deps.clock();
  const previous = exec.execution_status;
  if (exec.execution_status === 'running') {
    const entry = runCancelled(exec, actor, now);
    const won = await endRun(deps, exec, 'cancelled', now, undefined, { wake: true, audit: entry });
    if (won) await recordAudit(deps.audit, executionSource(ref), entry);
    exec = (await deps.runs.getExecution(ref)) ?? exec;
  } else if (exec.execution_status !== 'completed') {
    // A cancel or failure cut short leaves open tasks: they would hold the undos back for ever.
    await afterEnd(deps, exec, exec.execution_status, now);
  }
  const attempt = exec.attempt ?? 1;
  const tasks = await deps.runs.listGraphTasks(ref, { outputs: false });
  const undos = pendingUndos(undoNodes(tasks));
  const timer = await recordTimer(deps, {
    tenant_code: ref.tenant_code,
    peid: ref.peid,
    task_id: ROLLBACK_TASK_ID,
    attempt,
    kind: 'rollback',
    due_at: now,
  });
  if (exec.rollback?.attempt !== attempt) {
    const entry = runRolledBack(exec, actor, now, attempt, undos, previous);
    if (await deps.undos.markRollback(ref, { attempt, at: now, by: actor }, entry)) {
      await recordAudit(deps.audit, executionSource(ref), entry);
      metrics.addMetric('RunsRolledBack', MetricUnit.Count, 1);
      logger.info('run rolled back', { peid: ref.peid, tenant_code: ref.tenant_code, attempt, undos });
    }
  }
  // Sent once (a timer already armed or fired is not sent again; fireTimers sends one left pending).
  await sendTimerIfDue(deps, timer);
  return { peid: ref.peid, execution_status: exec.execution_status, attempt, undos };
}

/** What the consumer needs to start a rollback's undos. */
export interface DriveDeps {
  runs: Pick<RunRecords, 'getExecution' | 'listGraphTasks'>;
  queue: TaskQueue;
}

/**
 * A rollback's start (its timer's message, or a task of the run finishing while it is rolled
 * back): sends the undos that can run now. Repeating it is harmless: each undo is claimed once.
 */
export async function driveRollback(deps: DriveDeps, msg: TaskMessage): Promise<number> {
  const ref = { tenant_code: msg.tenant_code, peid: msg.peid };
  const exec = await deps.runs.getExecution(ref);
  // A rollback of an earlier attempt (the run was redriven since) has nothing left to start.
  if (!exec || !rollingBack(exec) || exec.rollback?.attempt !== msg.attempt) return 0;
  const ready = readyMessages(await deps.runs.listGraphTasks(ref, { outputs: false }));
  await deps.queue.send(ready);
  return ready.length;
}
