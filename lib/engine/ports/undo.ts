/**
 * Containments and their undos (docs/containment.md): the undo state of succeeded tasks, changed
 * only by conditional single-document updates (so a rollback and an expiry arriving at once start
 * an undo once), a run's rollback mark, and the tenant's containments list.
 */
import type { AuditEntry } from '../../domain/audit.js';
import type { UndoState, UndoTrigger } from '../../domain/undo.js';
import type { RunRef, TaskError } from '../model.js';

/** One task of one run. */
export interface UndoTaskRef extends RunRef {
  task_id: string;
}

/** Which attempt of which success's undo a claim is for. */
export interface UndoClaim {
  /** The success (its undo state's `gen`). */
  gen: number;
  /** The undo attempt to start: 1 from `active`; n > 1 after the retry of attempt n - 1 was recorded. */
  attempt: number;
  token: string;
  leaseUntil: number;
  by: UndoTrigger;
}

/** How an undo attempt ended: undone, failed for good, or failed with a retry to come (`undoing`, no claim). */
export interface UndoOutcome {
  state: 'undone' | 'undo_failed' | 'undoing';
  response_status: number | null;
  error: TaskError | null;
  finished_at: number | null;
}

/** A containment as GET /containments lists it. */
export interface ContainmentRow {
  peid: string;
  task_id: string;
  undo: UndoState;
}

/** Where a page of containments ended: the last item's applied_at and task key. */
export interface ContainmentCursor {
  applied_at: number;
  key: string;
}

export interface ContainmentQuery {
  /** true: in effect (active, undoing, undo_failed); false: undone; absent: all. */
  active?: boolean;
  limit: number;
  after?: ContainmentCursor;
}

export interface UndoStore {
  /**
   * Starts an undo attempt, only if the task is still where that attempt starts from: `active` at
   * `gen` (attempt 1), `undoing` at `gen` with attempt - 1 recorded and no claim (a retry), or
   * `undoing` at `gen` and `attempt` whose holder's lease ran out (a take-over). True if this call did.
   */
  claimUndo(ref: UndoTaskRef, claim: UndoClaim, now: number): Promise<boolean>;
  /** Records how the attempt held by `token` ended (and releases the claim); false if no longer held. */
  recordUndo(ref: UndoTaskRef, token: string, outcome: UndoOutcome, now: number): Promise<boolean>;
  /** A dead-lettered undo message: `active` or `undoing` at `gen` becomes `undo_failed` with `error`. */
  failUndo(ref: UndoTaskRef, gen: number, error: TaskError, now: number): Promise<boolean>;
  /**
   * Marks the run rolled back at `attempt` (with `audit` pending on it, in the same write), only if
   * it was not rolled back at that attempt already: true if this call did.
   */
  markRollback(ref: RunRef, mark: { attempt: number; at: number; by: string }, audit: AuditEntry): Promise<boolean>;
  /** The tenant's containments, newest applied first. */
  listContainments(tenant_code: string, query: ContainmentQuery): Promise<ContainmentRow[]>;
}
