/** Closing finished tasks on their run, and ending runs and their trees of sub-playbook runs (run-lifecycle.ts). */
import type { AuditEntry } from '../../domain/audit.js';
import type { TaskStatus } from '../../domain/statuses.js';
import type { ExecutionRecord, RunRef, TaskError } from '../model.js';

/** A sub-playbook run as its parent's end sees it. */
export type ChildRunState = Pick<ExecutionRecord, 'peid' | 'tenant_code' | 'execution_status' | 'createddate'> & {
  parent: NonNullable<ExecutionRecord['parent']>;
};

/** A graph task that ended, and how: closed on its run. */
export interface TaskEnd {
  task_id: string;
  status: TaskStatus;
}

/** Completing the run in the update that closes its last tasks. */
export interface CloseCompletion {
  createddate: number;
  /**
   * The open set the caller last saw; when the closed tasks cover it, a store without update
   * pipelines completes the run in the same update if the set is still exactly that.
   */
  believedOpen?: readonly string[];
}

/** What one close did: the run as the update found it and as it left it (without its alert). */
export interface ClosedRun {
  before: ExecutionRecord;
  after: ExecutionRecord;
  /** This update also moved the run running -> completed (its open set became empty). */
  completed: boolean;
}

export interface RunEnds {
  /**
   * Removes ended tasks from the run's open set and records their statuses (`task_ends`), in one
   * atomic update; with `complete`, the update that empties the open set of a running run also
   * completes it where the store can (else `after` shows it done and the caller finishes it).
   */
  closeTasks(ref: RunRef, ends: TaskEnd[], now: number, complete?: CloseCompletion): Promise<ClosedRun | null>;
  /**
   * Moves a running execution to a terminal status, exactly once; true if this call did it.
   * `audit` is written pending on the execution in the same write (lib/engine/audit.ts).
   */
  finishRun(
    ref: RunRef,
    status: 'completed' | 'failed' | 'cancelled',
    now: number,
    createddate: number,
    error?: TaskError,
    audit?: AuditEntry,
  ): Promise<boolean>;
  /** Cancels every pending and queued task of the given runs (and tasks waiting on items or child runs). */
  cancelOpenTasks(refs: RunRef[], now: number): Promise<void>;
  /** Moves the given runs, those still running, to cancelled with `error` (one bulk write). */
  cancelRuns(runs: Array<RunRef & { createddate: number }>, now: number, error: TaskError): Promise<void>;
  /** The sub-playbook runs started by tasks of the given runs (any status). */
  childRuns(parents: RunRef[]): Promise<ChildRunState[]>;
}
