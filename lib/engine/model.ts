/**
 * The persisted shapes of runs and tasks (MongoDB field names follow the
 * original service's collections, so existing dashboards and indexes keep working).
 * Alerts and task outputs are stored as JSON text: they are never queried, and
 * text keeps arbitrary third-party keys (`$x`, `a.b`) from meeting the database.
 */
import type { ApprovalState, TaskWait } from '../domain/approval.js';
import type { AuditEntry } from '../domain/audit.js';
import type { TaskDefinition } from '../domain/playbook-schema.js';
import type { ExecutionStatus, TaskStatus } from '../domain/statuses.js';
import type { TimerKind } from '../domain/timers.js';
import type { RunMode, RunTrigger } from '../domain/triggers.js';
import type { UndoState } from '../domain/undo.js';

/** The key of a run: every read and write of a run names its tenant. */
export interface RunRef {
  tenant_code: string;
  peid: string;
}

export interface TaskError {
  code: string;
  message: string;
}

/** A playbook as stored: the validated definition plus identity and version. */
export interface StoredPlaybook {
  pid: string;
  tenant_code: string;
  name: string;
  description?: string;
  category_id?: string;
  status: 'active' | 'inactive';
  tasks: TaskDefinition[];
  version: number;
  createddate: number;
  updateddate: number;
  /** The `sub` of whoever created this version (absent on versions written before it was recorded). */
  updated_by?: string;
}

export interface ExecutionRecord {
  peid: string;
  tenant_code: string;
  pid: string;
  playbook_name: string;
  playbook_version: number;
  alert_id: string;
  uid: string;
  alert_json: string;
  execution_status: ExecutionStatus;
  createddate: number;
  updateddate: number;
  completeddate: number | null;
  playbook_runtime: number | null;
  /** Ids of tasks not yet terminal; the run completes when it becomes empty. */
  open_tasks: string[];
  /**
   * The terminal status of each graph task closed on the run (written by the update that closes
   * it): the fan-in reads its dependencies' outcomes here. A task still in `open_tasks` has not
   * ended whatever this says (a redrive reopens tasks); absent on runs started before it was kept.
   */
  task_ends?: Record<string, TaskStatus>;
  tasks_total: number;
  error: TaskError | null;
  /** On a sub-playbook run: the task of the parent run waiting for it, and the nesting depth (top level 0). */
  parent?: { peid: string; task_id: string; attempt: number };
  depth?: number;
  /** On a sub-playbook run: the top-level run of its tree (which holds the tree's work budget). */
  root_peid?: string;
  /** On a top-level run: the units of work (tasks, loop items, child runs) its tree has created. */
  work_used?: number;
  /** 1 for the first attempt of the run; each redrive adds one. */
  attempt?: number;
  /** `test` runs replace their mocked tasks and never count in analytics; absent on runs older than modes (live). */
  mode?: RunMode;
  /** What started the run; absent on runs older than triggers (the API). */
  trigger?: RunTrigger;
  /** How each earlier attempt ended (redrive keeps the history). */
  history?: Array<{
    attempt: number;
    execution_status: ExecutionStatus;
    error: TaskError | null;
    completeddate: number | null;
  }>;
  /** Audit entries written with a change of this run, not yet copied into the log (lib/engine/audit.ts). */
  audit_pending?: AuditEntry[];
  /** The run's last rollback: the attempt it rolled back, when and by whom (docs/containment.md). */
  rollback?: RollbackMark;
}

/** A rollback of a run's attempt: its succeeded tasks' undos run in reverse dependency order. */
export interface RollbackMark {
  attempt: number;
  at: number;
  by: string;
}

/** A test run's stand-in for one task: the output or the error it finishes with, without running. */
export type TaskMock = { output_json: string } | { error: TaskError };

export interface TaskClaim {
  token: string;
  until: number;
}

export interface TaskRecord {
  peid: string;
  tenant_code: string;
  alert_id: string;
  task_seq: number;
  task_id: string;
  type: TaskDefinition['type'];
  /** The definition as it was when the run started: runs are pinned to their playbook version. */
  def: TaskDefinition;
  dependents: string[];
  status: TaskStatus;
  /** Attempts started so far (the attempt in progress included). */
  attempts: number;
  claim: TaskClaim | null;
  output_json: string | null;
  truncated: boolean;
  error: TaskError | null;
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  createddate: number;
  updateddate: number;
  /** On an item of a `for_each` task: the loop task's id, the item's position and value. */
  item_of?: string;
  item_index?: number;
  item_json?: string;
  /** The item queued when this one finishes (the concurrency window's hand-over chain). */
  item_successor?: number;
  /** On a `playbook` task waiting for its sub-playbook: the child run. */
  child_peid?: string;
  /** On an expanded `for_each` task: how many items, and the positions not yet finished. */
  items_total?: number;
  open_items?: number[];
  /** On a task of a test run: what it finishes with instead of running (no call, no child run). */
  mock?: TaskMock;
  /** Set with the result of a task that finished with its mock. */
  mocked?: true;
  /** On a task that waits (status `waiting`), or waited: for what, since and until when. */
  wait?: TaskWait;
  /** On an `approval` task once it waits: its question, its token's hash and, once given, its answer. */
  approval?: ApprovalState;
  /** Audit entries written with a change of this task (an approval's answer), not yet in the log. */
  audit_pending?: AuditEntry[];
  /** On a task that succeeded with an `undo`: its containment and its undo (docs/containment.md). */
  undo?: UndoState;
}

/** The reference an SQS message carries: never outputs or alerts. */
export interface TaskMessage {
  v: 1;
  tenant_code: string;
  peid: string;
  task_id: string;
  attempt: number;
  /** A copy sent again by per-tenant fairness (lib/engine/fairness.ts); the engine ignores it. */
  deferred?: true;
  /** Sent by a durable timer (lib/engine/timers.ts): what its arrival means (docs/durable-waits.md). */
  timer?: TimerKind;
  /**
   * An undo's message (lib/engine/undo.ts): attempt `undo` of the undo of the task's success in run
   * attempt `attempt` (its undo state's `gen`). Never claims the task itself.
   */
  undo?: number;
  /** A rollback's start (lib/engine/rollback.ts): the undos of run attempt `attempt` that can run now are sent. */
  rollback?: true;
}

/** The key of one task of one run. */
export function taskKey(peid: string, taskId: string): string {
  return `${peid}:${taskId}`;
}

/** The task id of item `index` of the loop task `taskId` (never a valid playbook task id). */
export function itemTaskId(taskId: string, index: number): string {
  return `${taskId}[${index}]`;
}

/** True for the task id of a for_each item (`loop[3]`); playbook task ids cannot contain brackets. */
export function isItemId(taskId: string): boolean {
  return taskId.endsWith(']');
}

/** The fields of a task that has not started: no attempt, no claim, no result (new, or reset by a redrive). */
export const NOT_STARTED = {
  attempts: 0,
  claim: null,
  output_json: null,
  truncated: false,
  error: null,
  started_at: null,
  finished_at: null,
  duration_ms: null,
} as const satisfies Partial<TaskRecord>;

/** A fresh task document of a run: not started, no result. */
export function newTaskRecord(
  fields: Pick<
    TaskRecord,
    'peid' | 'tenant_code' | 'alert_id' | 'task_seq' | 'task_id' | 'type' | 'def' | 'dependents'
  > &
    Pick<TaskRecord, 'status'>,
  now: number,
): TaskRecord {
  return { ...fields, ...NOT_STARTED, createddate: now, updateddate: now };
}

/*
 * The task state machine. A task's phase is its status, with `running` split in two: held by a
 * worker's claim (a token and a lease: `claimed`), or `unclaimed` (a loop waiting for its items,
 * a `playbook` task for its child run). The status `waiting` (an approval for its answer, a long
 * delay for its timer, holding no claim) is a phase of its own: entered from `claimed` by the
 * holder (startWait), left for `queued` by exactly one of an answer, the timeout or the delay's
 * end (each conditional on `waiting`), or for `cancelled`/`failed` with its run. Every change of phase is one of TASK_TRANSITIONS, made by
 * one conditional single-document update: the adapters' filters are built from these lists
 * (lib/adapters/mongo/task-filters.ts, checked by test/unit/task-filters.test.ts).
 */
export type TaskPhase = Exclude<TaskStatus, 'running'> | 'claimed' | 'unclaimed';

export const TASK_PHASES: readonly TaskPhase[] = [
  'pending',
  'queued',
  'claimed',
  'unclaimed',
  'waiting',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
];

export function phaseOf(t: Pick<TaskRecord, 'status'> & { claim?: TaskClaim | null }): TaskPhase {
  if (t.status !== 'running') return t.status;
  return t.claim === null || t.claim === undefined ? 'unclaimed' : 'claimed';
}

/** Each transition: the phases it may start from, and those it may lead to. */
export const TASK_TRANSITIONS = {
  /** A worker takes an attempt: its message arrived (queued at the attempt before), or its holder's lease ran out. */
  claim: { from: ['queued', 'claimed'], to: ['claimed'] },
  /** The holder of the claim records the result, or the retry (queued for the next attempt). */
  result: { from: ['claimed'], to: ['succeeded', 'failed', 'skipped', 'cancelled', 'queued'] },
  /** The fan-in decides a dependent (or a loop item's turn comes in its window): one caller wins. */
  decide: { from: ['pending'], to: ['queued', 'skipped'] },
  /** The holder hands a loop over to its items, or a `playbook` task over to its child run. */
  wait: { from: ['claimed'], to: ['unclaimed'] },
  /**
   * An in-process task (transform, noop) decided, run and recorded in one update, without a claim
   * or a message (lib/engine/batch/inline.ts): its result, or its retry.
   */
  inline: { from: ['pending'], to: ['succeeded', 'failed', 'skipped', 'queued'] },
  /** A waiting task gets its result (or, for a child run, its retry), once. */
  finishWait: { from: ['unclaimed'], to: ['succeeded', 'failed', 'queued'] },
  /** The holder starts a durable wait (an approval's question, a long delay's timer) and releases its claim. */
  startWait: { from: ['claimed'], to: ['waiting'] },
  /** An analyst or a callback answers an approval before its deadline; its next attempt applies the answer. */
  answer: { from: ['waiting'], to: ['queued'] },
  /** An approval's deadline passed: its timer records `on_timeout` as the answer (or none: the task fails). */
  timeout: { from: ['waiting'], to: ['queued'] },
  /** A long delay's time came: its timer ends the wait; the next attempt succeeds. */
  endDelay: { from: ['waiting'], to: ['queued'] },
  /** A run's end cancels what has not started and what waits; a running claim finishes on its own. */
  cancel: { from: ['pending', 'queued', 'unclaimed', 'waiting'], to: ['cancelled'] },
  /** A dead-lettered message fails its task unless it has finished. */
  failDeadLetter: { from: ['pending', 'queued', 'claimed', 'unclaimed', 'waiting'], to: ['failed'] },
  /** A redrive resets what did not succeed (an expanded loop waits again for its items). */
  reset: { from: ['pending', 'failed', 'skipped', 'cancelled'], to: ['pending', 'queued', 'unclaimed'] },
  /** A redrive also runs again a succeeded task whose containment was undone (its undo state `undone`). */
  redo: { from: ['succeeded'], to: ['pending', 'queued'] },
} as const satisfies Record<string, { from: readonly TaskPhase[]; to: readonly TaskPhase[] }>;

export type TaskTransition = keyof typeof TASK_TRANSITIONS;

/** True when the transition may start from the task's current phase. */
export function canTransition(name: TaskTransition, t: Parameters<typeof phaseOf>[0]): boolean {
  return (TASK_TRANSITIONS[name].from as readonly TaskPhase[]).includes(phaseOf(t));
}

/** An item of a for_each loop (its own document, `item_of` naming the loop task). */
export function isLoopItem(t: { item_of?: string | undefined }): boolean {
  return t.item_of !== undefined;
}

/** A task of the playbook's graph (not a loop item). */
export function isGraphTask(t: { item_of?: string | undefined }): boolean {
  return t.item_of === undefined;
}

/** A loop task, which expands into items when it runs (its items do not). */
export function expandsLoop(t: Pick<TaskRecord, 'def'> & { item_of?: string | undefined }): boolean {
  return t.def.for_each !== undefined && isGraphTask(t);
}

/** A `playbook` task (or item) waiting for its child run. */
export function isWaitingForChild(t: Parameters<typeof phaseOf>[0] & { child_peid?: string | undefined }): boolean {
  return phaseOf(t) === 'unclaimed' && t.child_peid !== undefined;
}

/** A loop task waiting for its items whose every item has finished: its result can be written. */
export function loopSettled(t: Parameters<typeof phaseOf>[0] & Pick<TaskRecord, 'open_items'>): boolean {
  return phaseOf(t) === 'unclaimed' && (t.open_items ?? []).length === 0;
}

/** Held by the worker whose batch token is `token`. */
export function isClaimedBy(t: { claim?: TaskClaim | null }, token: string): boolean {
  return t.claim?.token === token;
}

/** Claimed by a worker whose lease ran out before `now`: presumed dead, its attempt may be taken over. */
export function leaseExpired(t: Parameters<typeof phaseOf>[0], now: number): boolean {
  return phaseOf(t) === 'claimed' && (t.claim?.until ?? 0) < now;
}

/** True when graph task `taskId` has ended by the run's record: closed (not open) with its status kept. */
export function endedOn(exec: Pick<ExecutionRecord, 'open_tasks' | 'task_ends'>, taskId: string): boolean {
  return !exec.open_tasks.includes(taskId) && exec.task_ends !== undefined && Object.hasOwn(exec.task_ends, taskId);
}

/** A run that is still running and whose every task has closed: it completes (once, run-lifecycle.ts). */
export function runDone(exec: Pick<ExecutionRecord, 'execution_status' | 'open_tasks'>): boolean {
  return exec.execution_status === 'running' && exec.open_tasks.length === 0;
}
