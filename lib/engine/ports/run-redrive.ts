/** Starting a failed or cancelled run again (lib/engine/redrive.ts). */
import type { AuditEntry } from '../../domain/audit.js';
import type { ExecutionRecord, RunRef } from '../model.js';

/** How one task is reset by a redrive. */
export interface TaskReset {
  task_id: string;
  status: 'pending' | 'queued' | 'running';
  /** Items: the new hand-over successor (null: none). Loops: the items still to run. */
  item_successor?: number | null;
  open_items?: number[];
  /** A succeeded task whose containment was undone, run again (the `redo` transition). */
  redo?: true;
}

export interface RunRedrive {
  /**
   * Resets tasks (and loop items) for a redrive: outputs, errors, attempts and undo state cleared;
   * a task marked `redo` only if it succeeded and its containment was undone.
   */
  resetTasks(ref: RunRef, resets: TaskReset[], now: number): Promise<void>;
  /**
   * Moves a failed/cancelled execution back to running as `attempt`, with `openTasks`
   * open and its previous outcome appended to history; false if it changed meanwhile.
   * `audit` is written pending on the execution in the same write.
   */
  reopenRun(
    ref: RunRef,
    previous: ExecutionRecord,
    openTasks: string[],
    attempt: number,
    now: number,
    audit?: AuditEntry,
  ): Promise<boolean>;
}
