/**
 * Containments and their undos (docs/containment.md), pure: the undo state a succeeded task with
 * an `undo` carries, the order in which a rollback undoes a run's tasks, and who may start an undo.
 *
 * A task that succeeded with an `undo` is a containment (a block, a disabled account) in effect:
 * its undo state is `active`. Its undo runs once for that success, started by a rollback of the
 * run or when its `undo_after_seconds` have passed: `active -> undoing` (one conditional claim,
 * whoever comes first), then `undone`, or `undo_failed` once the task's retry policy is spent.
 *
 * A rollback undoes in reverse dependency order: a task's undo starts only after the undos of
 * every task that (transitively) depends on it have settled. A task whose containment may still
 * appear (a task with an undo that has not finished yet) holds back the undos of the tasks it
 * depends on until it finishes.
 */

export const UNDO_STATES = ['active', 'undoing', 'undone', 'undo_failed'] as const;
export type UndoStatus = (typeof UNDO_STATES)[number];

/** What started an undo: a rollback of its run, or its `undo_after_seconds` running out. */
export type UndoTrigger = 'rollback' | 'expiry';

/** The undo state of a succeeded task that declares an `undo` (stored on the task as `undo`). */
export interface UndoState {
  state: UndoStatus;
  /**
   * True while the containment may be in effect (active, undoing, undo_failed): the containments
   * list's `active=true`. Kept with the state, so one index serves the list.
   */
  in_effect: boolean;
  /**
   * Which success this is: the run's attempt in which the task succeeded (a task succeeds at most
   * once per run attempt; a redrive starts a new one). Every undo message names it, so a message
   * of an earlier success never undoes a later one.
   */
  gen: number;
  playbook_name: string;
  /** When the task succeeded (the containment was applied). */
  applied_at: number;
  /** When the undo runs by itself (`undo_after_seconds` after applied_at); null: only a rollback undoes it. */
  undo_at: number | null;
  /** Undo attempts started (the one in progress included). */
  attempts: number;
  /** The worker running the undo now, and until when its lease holds. */
  claim: { token: string; until: number } | null;
  by: UndoTrigger | null;
  started_at: number | null;
  finished_at: number | null;
  /** The HTTP status the undo request was answered with (its body is not kept). */
  response_status: number | null;
  error: { code: string; message: string } | null;
}

/** States in which the containment may still be in effect. */
export function inEffect(state: UndoStatus): boolean {
  return state !== 'undone';
}

/** The undo state of a task that just succeeded at run attempt `gen`. */
export function activeUndo(fields: {
  gen: number;
  playbook_name: string;
  applied_at: number;
  undo_after_seconds: number | undefined;
}): UndoState {
  return {
    state: 'active',
    in_effect: true,
    gen: fields.gen,
    playbook_name: fields.playbook_name,
    applied_at: fields.applied_at,
    undo_at: fields.undo_after_seconds === undefined ? null : fields.applied_at + fields.undo_after_seconds * 1000,
    attempts: 0,
    claim: null,
    by: null,
    started_at: null,
    finished_at: null,
    response_status: null,
    error: null,
  };
}

/** What the rollback order needs of a task of the run. */
export interface UndoNode {
  task_id: string;
  depends_on: readonly string[];
  status: string;
  /** The task declares an undo (and is not a test run's mocked task: a mock has nothing to undo). */
  undoable: boolean;
  undo: Pick<UndoState, 'state'> | null;
}

const TERMINAL = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/**
 * True when a task holds back the undos of the tasks it depends on: its own undo is still to run
 * or running (active, undoing), or its containment may still appear (it declares an undo and has
 * not finished).
 */
export function holdsBack(t: UndoNode): boolean {
  if (t.undo) return t.undo.state === 'active' || t.undo.state === 'undoing';
  return t.undoable && !TERMINAL.has(t.status);
}

/** The tasks depending on each task, transitively (task id -> ids). */
export function descendants(nodes: readonly UndoNode[]): Map<string, Set<string>> {
  const direct = new Map<string, string[]>();
  for (const n of nodes) {
    for (const d of n.depends_on) direct.set(d, [...(direct.get(d) ?? []), n.task_id]);
  }
  const out = new Map<string, Set<string>>();
  for (const n of nodes) {
    const seen = new Set<string>();
    const stack = [...(direct.get(n.task_id) ?? [])];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(direct.get(id) ?? []));
    }
    out.set(n.task_id, seen);
  }
  return out;
}

/**
 * The tasks whose undo a rollback may start now: active, and no task depending on them
 * (transitively) holds them back. Optionally only among `among` (the ancestors of a task whose
 * undo just settled: only they can have become ready).
 */
export function readyUndos(nodes: readonly UndoNode[], among?: ReadonlySet<string>): string[] {
  const byId = new Map(nodes.map((n) => [n.task_id, n]));
  const below = descendants(nodes);
  return nodes
    .filter((n) => n.undo?.state === 'active' && (among === undefined || among.has(n.task_id)))
    .filter((n) => [...(below.get(n.task_id) ?? [])].every((id) => !holdsBack(byId.get(id) as UndoNode)))
    .map((n) => n.task_id);
}

/** The tasks `taskId` depends on, transitively. */
export function ancestors(nodes: readonly UndoNode[], taskId: string): Set<string> {
  const byId = new Map(nodes.map((n) => [n.task_id, n]));
  const seen = new Set<string>();
  const stack = [...(byId.get(taskId)?.depends_on ?? [])];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(byId.get(id)?.depends_on ?? []));
  }
  return seen;
}

/** How many of the run's containments a rollback will undo: active ones, and those that may still appear. */
export function pendingUndos(nodes: readonly UndoNode[]): number {
  return nodes.filter(holdsBack).length;
}
