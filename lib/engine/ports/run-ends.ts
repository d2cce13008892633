/** Closing finished tasks on their run, and ending runs and their trees of sub-playbook runs (run-lifecycle.ts). */
import type { AuditEntry } from '../../domain/audit.js';
import type { ExecutionRecord, RunRef, TaskError } from '../model.js';

/** A sub-playbook run as its parent's end sees it. */
export type ChildRunState = Pick<ExecutionRecord, 'peid' | 'tenant_code' | 'execution_status' | 'createddate'> & {
  parent: NonNullable<ExecutionRecord['parent']>;
};

export interface RunEnds {
  /** Removes terminal task ids from the run's open set; returns the execution after the change. */
  closeTasks(ref: RunRef, taskIds: string[], now: number): Promise<ExecutionRecord | null>;
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
