/** What a batch of task messages does to its tasks: claim them, read them, record their results, decide dependents. */
import type { UndoState } from '../../domain/undo.js';
import type { ExecutionRecord, RunRef, TaskError, TaskRecord } from '../model.js';

export interface ClaimRequest extends RunRef {
  task_id: string;
  attempt: number;
}

/** The final (or retry) state of one claimed task, written in one batch. */
export interface TaskResultWrite extends RunRef {
  task_id: string;
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'queued';
  output_json: string | null;
  truncated: boolean;
  error: TaskError | null;
  finished_at: number | null;
  duration_ms: number | null;
  /** The result is a test run's mock (recorded as `mocked: true`). */
  mocked?: true;
  /** A succeeded task with an undo: its containment, in effect from now (docs/containment.md). */
  undo?: UndoState;
  /**
   * Set on a write that decides a pending task instead of recording a claimed one's result (the
   * fan-in's `queued`/`skipped`, or an inline task's result: TASK_TRANSITIONS `decide`, `inline`):
   * it applies only while the task is pending, and one writer wins it.
   */
  decided?: { attempts: number; started_at: number | null };
}

/** A task result without its key: what finishes a waiting task or a loop. */
export type TaskResult = Omit<TaskResultWrite, keyof RunRef | 'task_id'>;

/** A pending task moving to queued (ready) or skipped, claimed atomically. */
export interface PendingTransition extends RunRef {
  task_id: string;
  to: 'queued' | 'skipped';
}

/** The slice of a task the fan-in needs. */
export type TaskState = Pick<TaskRecord, 'peid' | 'task_id' | 'status' | 'attempts' | 'def' | 'dependents' | 'type'> &
  Partial<Pick<TaskRecord, 'claim'>>;

/** A task's state without its definition (which the run's pinned playbook version gives). */
export type TaskStateRecord = Omit<TaskRecord, 'def' | 'dependents'>;

/** The runs of a batch: their executions and tasks. */
export interface LoadedRuns {
  executions: ExecutionRecord[];
  tasks: TaskRecord[];
}

export interface TaskClaims {
  /**
   * Atomically moves claimable tasks to running under `token`; returns how many claims
   * matched (losers are found by reading back).
   */
  claimTasks(claims: ClaimRequest[], token: string, leaseUntil: number, now: number): Promise<number>;
  /**
   * The executions and every graph task of the given runs (one query per collection),
   * plus the for_each items named in `itemKeys` (items are never loaded wholesale).
   */
  loadRuns(refs: RunRef[], itemKeys?: string[]): Promise<LoadedRuns>;
  /** The executions of the given runs (one query). */
  loadExecutions(refs: RunRef[]): Promise<ExecutionRecord[]>;
  /** Every graph task of the given runs without its definition (one query; outputs included). */
  loadGraphStates(refs: RunRef[]): Promise<TaskStateRecord[]>;
  /** The given tasks (for_each items, by key), whole. */
  loadTasks(keys: Array<RunRef & { task_id: string }>): Promise<TaskRecord[]>;
  /** A fresh, light read of the states of the given tasks (by key, so index-served everywhere). */
  taskStates(tasks: Array<RunRef & { task_id: string }>): Promise<TaskState[]>;
  /**
   * One unordered bulk write of results: a claimed task's only while `token` holds it; a
   * `decided` write only while its task is pending. Returns the keys of the `decided` writes
   * this call won.
   */
  writeTaskResults(writes: TaskResultWrite[], token: string, now: number): Promise<Set<string>>;
  /** Applies pending->queued/skipped transitions; returns the task keys this call won. */
  transitionPending(transitions: PendingTransition[], token: string, now: number): Promise<Set<string>>;
}
