/**
 * Containments as readers see them (docs/containment.md): `GET /containments`, the tenant's
 * succeeded tasks with an undo, newest applied first; and the `undo` of a task in
 * `GET /executions/{peid}` and in its timeline.
 */
import type { UndoState, UndoStatus, UndoTrigger } from '../domain/undo.js';
import { decodeCursorPair, encodeCursorPair, pageOf } from './cursor.js';
import { taskKey } from './model.js';
import type { ContainmentCursor, ContainmentRow, UndoStore } from './ports/undo.js';

/** A task's containment and its undo, as the API shows it. */
export interface UndoView {
  status: UndoStatus;
  applied_at: number;
  /** When the undo runs by itself; null: only a rollback undoes it. */
  undo_at: number | null;
  /** What started the undo (null while active). */
  by: UndoTrigger | null;
  attempts: number;
  started_at: number | null;
  /** When the undo ended (undone, or failed for good). */
  finished_at: number | null;
  /** The HTTP status the undo request was answered with. */
  response_status: number | null;
  error: { code: string; message: string } | null;
}

export function undoView(u: UndoState): UndoView {
  return {
    status: u.state,
    applied_at: u.applied_at,
    undo_at: u.undo_at,
    by: u.by,
    attempts: u.attempts,
    started_at: u.started_at,
    finished_at: u.finished_at,
    response_status: u.response_status,
    error: u.error,
  };
}

/** One item of GET /containments. */
export interface ContainmentItem extends Omit<UndoView, 'status'> {
  peid: string;
  task_id: string;
  playbook_name: string;
  status: UndoStatus;
}

export interface ContainmentPage {
  items: ContainmentItem[];
  next: string | null;
}

function itemOf(row: ContainmentRow): ContainmentItem {
  return { peid: row.peid, task_id: row.task_id, playbook_name: row.undo.playbook_name, ...undoView(row.undo) };
}

/** Opaque cursor: the last item's (applied_at, task key). */
export function encodeContainmentCursor(c: ContainmentCursor): string {
  return encodeCursorPair(c.applied_at, c.key);
}

/** Decodes a cursor made by encodeContainmentCursor; undefined when it is not one. */
export function decodeContainmentCursor(cursor: string): ContainmentCursor | undefined {
  const pair = decodeCursorPair(cursor, (at, key) => at >= 0 && key.length > 0 && key.length <= 200);
  return pair && { applied_at: pair[0], key: pair[1] };
}

/**
 * GET /containments: the tenant's containments, newest applied first; `active` true: those that
 * may be in effect (active, undoing, undo_failed), false: those undone, absent: all.
 */
export async function listContainments(
  undos: UndoStore,
  tenant_code: string,
  query: { active?: boolean; limit: number; after?: ContainmentCursor },
): Promise<ContainmentPage> {
  const rows = await undos.listContainments(tenant_code, { ...query, limit: query.limit + 1 });
  return pageOf(rows.map(itemOf), query.limit, (last) =>
    encodeContainmentCursor({ applied_at: last.applied_at, key: taskKey(last.peid, last.task_id) }),
  );
}
