/** Reading and cancelling runs on behalf of a tenant. */
import { isTerminalTask } from '../domain/statuses.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { type AnswerLimit, fitAnswer } from './answer-size.js';
import { type AuditContext, recordAudit } from './audit.js';
import { executionSource, runCancelled } from './audit-entries.js';
import { undoView } from './containments.js';
import { decodeCursorPair, encodeCursorPair, pageOf } from './cursor.js';
import type { ExecutionRecord, RunRef, TaskRecord } from './model.js';
import type { RunEnds } from './ports/run-ends.js';
import type { ExecutionQuery, ItemState, RunRecords } from './ports/run-records.js';
import type { TaskQueue } from './ports/task-queue.js';
import type { TimerStore } from './ports/timers.js';
import { afterEnd, endRun } from './run-lifecycle.js';
import type { ExecutionSummary, ExecutionView, ItemView, TaskView } from './run-views.js';

function summary(e: ExecutionRecord): ExecutionSummary {
  return {
    peid: e.peid,
    pid: e.pid,
    playbook_name: e.playbook_name,
    playbook_version: e.playbook_version,
    alert_id: e.alert_id,
    uid: e.uid,
    tenant_code: e.tenant_code,
    execution_status: e.execution_status,
    createddate: e.createddate,
    completeddate: e.completeddate ?? null,
    playbook_runtime: e.playbook_runtime ?? null,
    error: e.error ?? null,
    attempt: e.attempt ?? 1,
    ...(e.history && e.history.length > 0 ? { history: e.history } : {}),
    // Runs recorded before modes and triggers existed were live runs started through the API.
    mode: e.mode ?? 'live',
    trigger: e.trigger ?? { type: 'api' },
    ...(e.rollback ? { rollback: e.rollback } : {}),
  };
}

function taskView(t: TaskRecord, output: unknown): TaskView {
  return {
    task_seq: t.task_seq,
    task_id: t.task_id,
    type: t.type,
    status: t.status,
    attempts: t.attempts,
    output,
    truncated: t.truncated,
    error: t.error,
    started_at: t.started_at,
    finished_at: t.finished_at,
    duration_ms: t.duration_ms,
    ...(t.mocked ? { mocked: true as const } : {}),
    ...(t.wait ? { wait: waitView(t.wait) } : {}),
    ...(t.undo ? { undo: undoView(t.undo) } : {}),
  };
}

/** A task's durable wait as readers see it (never an approval's question, token or answer: see GET /approvals). */
function waitView(w: NonNullable<TaskRecord['wait']>): NonNullable<TaskView['wait']> {
  return { kind: w.kind, since: w.since, until: w.until, ended_at: w.ended_at ?? null };
}

export interface RunRead {
  exec: ExecutionRecord | null;
  /** The graph tasks in task_seq order (outputs read only if asked for). */
  tasks: TaskRecord[];
  /** The loop items' states (read only if asked for; never their outputs). */
  items: ItemState[];
}

/**
 * A run and its tasks as a reader may rely on them; never the loop items' outputs, values or
 * definitions, so a reader's memory does not grow with its loops. The reads go out together, but
 * the task lists can then be older than the run: a finished run would show a task still running
 * whose result was written (and the run closed) between the reads. A run finishes only after the
 * results that finish it are written, so when the run read is finished and a task is not, the
 * tasks are read again, after it (one more read, only then).
 */
export async function readRun(
  runs: RunRecords,
  ref: RunRef,
  opts: { outputs: boolean; items: boolean },
): Promise<RunRead> {
  const readTasks = () =>
    Promise.all([
      runs.listGraphTasks(ref, { outputs: opts.outputs }),
      opts.items ? runs.listItemStates(ref) : Promise.resolve([]),
    ]);
  const [exec, [tasks, items]] = await Promise.all([runs.getExecution(ref), readTasks()]);
  const settled = tasks.every((t) => isTerminalTask(t.status)) && items.every((t) => isTerminalTask(t.status));
  if (!exec || exec.execution_status === 'running' || settled) return { exec, tasks, items };
  const [again, againItems] = await readTasks();
  return { exec, tasks: again, items: againItems };
}

/**
 * One run with its tasks in task_seq order (loop items nested); 404 for unknown or another
 * tenant's. With `limit`, an answer that would pass it leaves outputs out (answer-size.ts).
 */
export async function getExecution(runs: RunRecords, ref: RunRef, limit?: AnswerLimit): Promise<ExecutionView> {
  const { exec, tasks, items } = await readRun(runs, ref, { outputs: true, items: true });
  if (!exec) throw new NotFoundError(`execution '${ref.peid}' not found`);
  const byLoop = new Map<string, ItemView[]>();
  for (const t of items) {
    const list = byLoop.get(t.item_of) ?? [];
    list.push({
      index: t.item_index,
      status: t.status,
      attempts: t.attempts,
      error: t.error,
      duration_ms: t.duration_ms,
    });
    byLoop.set(t.item_of, list);
  }
  // A failed or cancelled run cancels its unstarted and waiting tasks right after its own status
  // changes; a read in between shows them as what they are about to become.
  const settled = exec.execution_status === 'failed' || exec.execution_status === 'cancelled';
  const views = tasks.map((t) => {
    const unstarted = settled && (t.status === 'pending' || t.status === 'queued' || t.status === 'waiting');
    const view = unstarted ? { ...taskView(t, null), status: 'cancelled' } : taskView(t, null);
    const list = byLoop.get(t.task_id);
    return list ? { ...view, items: list.sort((a, b) => a.index - b.index) } : view;
  });
  const answer: ExecutionView = { ...summary(exec), tasks: views };
  const outputs = tasks.map((t) => t.output_json);
  if (!limit) {
    views.forEach((v, i) => {
      v.output = parseOutput(outputs[i] ?? null);
    });
    return answer;
  }
  return fitAnswer(answer, outputs, limit, parseOutput);
}

function parseOutput(json: string | null): unknown {
  return json === null ? null : (JSON.parse(json) as unknown);
}

export interface ExecutionPage {
  items: ExecutionSummary[];
  next: string | null;
}

/** Opaque cursor: the last item's (createddate, peid). */
export function encodeCursor(e: { createddate: number; peid: string }): string {
  return encodeCursorPair(e.createddate, e.peid);
}

/** Decodes a cursor made by encodeCursor; undefined when it is not one. */
export function decodeCursor(cursor: string): { createddate: number; peid: string } | undefined {
  const pair = decodeCursorPair(cursor, (_, peid) => peid.length <= 64);
  return pair && { createddate: pair[0], peid: pair[1] };
}

/** A page of the tenant's runs, newest first. */
export async function listExecutions(
  runs: RunRecords,
  tenant_code: string,
  query: ExecutionQuery,
): Promise<ExecutionPage> {
  const rows = await runs.listExecutions(tenant_code, { ...query, limit: query.limit + 1 });
  return pageOf(rows.map(summary), query.limit, encodeCursor);
}

/**
 * Cancels a running run: its pending, queued and waiting tasks become cancelled (running ones
 * finish; a waiting approval's callback token dies with it), its durable timers are cancelled, its
 * sub-playbook runs are cancelled, and a parent task waiting for it is woken (and fails).
 * Cancelling a cancelled run answers the same and repeats what follows the cancellation, so a
 * retry repairs a cancel whose wake-up was lost; a finished run is a conflict. With `audit`, the
 * cancel is recorded (by whoever actually cancelled it, once).
 */
export async function cancelRun(
  runs: RunRecords & RunEnds,
  ref: RunRef,
  now: number,
  queue: TaskQueue,
  audit?: AuditContext,
  timers?: Pick<TimerStore, 'cancelRun'>,
): Promise<'cancelled'> {
  const lifecycle = { runs, queue, ...(timers ? { timers } : {}) };
  const exec = await runs.getExecution(ref);
  if (!exec) throw new NotFoundError(`execution '${ref.peid}' not found`);
  if (exec.execution_status === 'cancelled') {
    await afterEnd(lifecycle, exec, 'cancelled', now);
    return 'cancelled';
  }
  if (exec.execution_status !== 'running') {
    throw new ConflictError(`execution '${ref.peid}' already ${exec.execution_status}`);
  }
  const entry = audit && runCancelled(exec, audit.actor, now);
  const won = await endRun(lifecycle, exec, 'cancelled', now, undefined, { wake: true, audit: entry });
  if (won && audit && entry) await recordAudit(audit.outbox, executionSource(ref), entry);
  if (!won) {
    // It ended meanwhile: cancelled by another request, or finished on its own.
    const after = await runs.getExecution(ref);
    if (after && after.execution_status !== 'cancelled')
      throw new ConflictError(`execution '${ref.peid}' already ${after.execution_status}`);
  }
  return 'cancelled';
}
