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
  /** A fresh, light read of the states of the given tasks (by key, so index-served everywhere). */
  taskStates(tasks: Array<RunRef & { task_id: string }>): Promise<TaskState[]>;
  /** One unordered bulk write of every result of a batch; only writes tasks still held by `token`. */
  writeTaskResults(writes: TaskResultWrite[], token: string, now: number): Promise<void>;
  /** Applies pending->queued/skipped transitions; returns the task keys this call won. */
  transitionPending(transitions: PendingTransition[], token: string, now: number): Promise<Set<string>>;
}
