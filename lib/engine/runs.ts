/** Reading and cancelling runs on behalf of a tenant. */
import { isTerminalTask } from '../domain/statuses.js';
import type { RunMode, RunTrigger } from '../domain/triggers.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { ExecutionRecord, TaskRecord } from './model.js';
import type { ExecutionQuery, RunRef, RunStore, TaskQueue } from './ports.js';
import { resumeMessage } from './sub-playbooks.js';

export interface TaskView {
  task_seq: number;
  task_id: string;
  type: string;
  status: string;
  attempts: number;
  output: unknown;
  truncated: boolean;
  error: { code: string; message: string } | null;
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  /** For a for_each task: each item's state (their outputs are the task's output list). */
  items?: ItemView[];
  /** A test run's task that finished with its mock instead of running. */
  mocked?: true;
}

export interface ItemView {
  index: number;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
  duration_ms: number | null;
}

export interface ExecutionSummary {
  peid: string;
  pid: string;
  playbook_name: string;
  playbook_version: number;
  alert_id: string;
  uid: string;
  tenant_code: string;
  execution_status: ExecutionRecord['execution_status'];
  createddate: number;
  completeddate: number | null;
  playbook_runtime: number | null;
  error: { code: string; message: string } | null;
  /** 1, plus one per redrive. */
  attempt: number;
  /** How earlier attempts ended (present after a redrive). */
  history?: NonNullable<ExecutionRecord['history']>;
  mode: RunMode;
  trigger: RunTrigger;
}

export interface ExecutionView extends ExecutionSummary {
  tasks: TaskView[];
}

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
  };
}

function taskView(t: TaskRecord): TaskView {
  return {
    task_seq: t.task_seq,
    task_id: t.task_id,
    type: t.type,
    status: t.status,
    attempts: t.attempts,
    output: t.output_json === null ? null : (JSON.parse(t.output_json) as unknown),
    truncated: t.truncated,
    error: t.error,
    started_at: t.started_at,
    finished_at: t.finished_at,
    duration_ms: t.duration_ms,
    ...(t.mocked ? { mocked: true as const } : {}),
  };
}

/**
 * A run and its tasks as a reader may rely on them. The two reads go out together, but the
 * task list can then be older than the run: a finished run would show a task still running
 * whose result was written (and the run closed) between the two reads. A run finishes only
 * after the results that finish it are written, so when the run read is finished and a task
 * is not, the tasks are read again, after it (one more read, only then).
 */
export async function readRun(
  runs: RunStore,
  ref: RunRef,
): Promise<{ exec: ExecutionRecord | null; tasks: TaskRecord[] }> {
  const [exec, tasks] = await Promise.all([runs.getExecution(ref), runs.listTasks(ref)]);
  if (!exec || exec.execution_status === 'running' || tasks.every((t) => isTerminalTask(t.status)))
    return { exec, tasks };
  return { exec, tasks: await runs.listTasks(ref) };
}

/** One run with its tasks in task_seq order (loop items nested); 404 for unknown or another tenant's. */
export async function getExecution(runs: RunStore, ref: RunRef): Promise<ExecutionView> {
  const { exec, tasks } = await readRun(runs, ref);
  if (!exec) throw new NotFoundError(`execution '${ref.peid}' not found`);
  const items = new Map<string, ItemView[]>();
  for (const t of tasks) {
    if (t.item_of === undefined) continue;
    const list = items.get(t.item_of) ?? [];
    list.push({
      index: t.item_index ?? 0,
      status: t.status,
      attempts: t.attempts,
      error: t.error,
      duration_ms: t.duration_ms,
    });
    items.set(t.item_of, list);
  }
  // A failed or cancelled run cancels its unstarted tasks right after its own status
  // changes; a read in between shows them as what they are about to become.
  const settled = exec.execution_status === 'failed' || exec.execution_status === 'cancelled';
  const views = tasks
    .filter((t) => t.item_of === undefined)
    .map((t) => {
      const unstarted = settled && (t.status === 'pending' || t.status === 'queued');
      const view = unstarted ? { ...taskView(t), status: 'cancelled' } : taskView(t);
      const list = items.get(t.task_id);
      return list ? { ...view, items: list.sort((a, b) => a.index - b.index) } : view;
    });
  return { ...summary(exec), tasks: views };
}

export interface ExecutionPage {
  items: ExecutionSummary[];
  next: string | null;
}

/** Opaque cursor: the last item's (createddate, peid). */
export function encodeCursor(e: { createddate: number; peid: string }): string {
  return Buffer.from(JSON.stringify([e.createddate, e.peid])).toString('base64url');
}

/** Decodes a cursor made by encodeCursor; undefined when it is not one. */
export function decodeCursor(cursor: string): { createddate: number; peid: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      Number.isSafeInteger(v[0]) &&
      typeof v[1] === 'string' &&
      v[1].length <= 64
    ) {
      return { createddate: v[0] as number, peid: v[1] };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** A page of the tenant's runs, newest first. */
export async function listExecutions(
  runs: RunStore,
  tenant_code: string,
  query: ExecutionQuery,
): Promise<ExecutionPage> {
  const rows = await runs.listExecutions(tenant_code, { ...query, limit: query.limit + 1 });
  const items = rows.slice(0, query.limit).map(summary);
  const last = items[items.length - 1];
  return { items, next: rows.length > query.limit && last ? encodeCursor(last) : null };
}

/**
 * Cancels a running run: its pending and queued tasks become cancelled; running
 * ones finish. Cancelling a cancelled run is a no-op; a finished one is a conflict.
 */
export async function cancelRun(runs: RunStore, ref: RunRef, now: number, queue?: TaskQueue): Promise<'cancelled'> {
  const exec = await runs.getExecution(ref);
  if (!exec) throw new NotFoundError(`execution '${ref.peid}' not found`);
  if (exec.execution_status === 'cancelled') return 'cancelled';
  if (exec.execution_status !== 'running') {
    throw new ConflictError(`execution '${ref.peid}' already ${exec.execution_status}`);
  }
  const cancelled = await runs.finishRun(ref, 'cancelled', now, exec.createddate);
  await runs.cancelOpenTasks(ref, now);
  // A cancelled sub-playbook run fails the parent task waiting for it.
  const wake = cancelled ? resumeMessage(exec) : undefined;
  if (wake && queue) await queue.send([wake]);
  return 'cancelled';
}
