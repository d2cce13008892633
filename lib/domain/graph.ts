/**
 * The task graph of a validated playbook, and the rule that decides, from the outcomes
 * of a task's dependencies, whether it runs, is skipped, or keeps waiting.
 */
import type { JoinMode, OnFailure } from './playbook-schema.js';
import { isTerminalTask, type TaskStatus } from './statuses.js';

/** The part of a task the graph needs. */
export interface GraphTask {
  id: string;
  depends_on: readonly string[];
}

export interface TaskGraph {
  /** Every task id in a topological order; among ready tasks, declaration order wins. */
  order: string[];
  /** 1-based position of each task in `order` (the stored `task_seq`). */
  seq: Map<string, number>;
  /** For each task, the ids that list it in depends_on, in declaration order. */
  dependents: Map<string, string[]>;
  /** Ids with no dependencies, in declaration order. */
  roots: string[];
}

/**
 * Orders validated tasks (Kahn's algorithm, ready tasks taken in declaration order).
 * Throws if the graph has an unknown dependency or a cycle, which validation rejects first.
 */
export function buildGraph(tasks: readonly GraphTask[]): TaskGraph {
  const index = new Map<string, number>();
  tasks.forEach((t, i) => {
    if (index.has(t.id)) throw new Error(`duplicate task id "${t.id}"`);
    index.set(t.id, i);
  });
  const dependents = new Map<string, string[]>(tasks.map((t) => [t.id, []]));
  const waitingOn = tasks.map(() => 0);
  tasks.forEach((t, i) => {
    // A repeated dependency counts once, both for fan-in and for the dependents list.
    for (const dep of new Set(t.depends_on)) {
      const list = dependents.get(dep);
      if (list === undefined) throw new Error(`task "${t.id}" depends on unknown task "${dep}"`);
      list.push(t.id);
      waitingOn[i] = (waitingOn[i] ?? 0) + 1;
    }
  });

  const roots = tasks.filter((_, i) => waitingOn[i] === 0).map((t) => t.id);
  // Ready set kept sorted by declaration index; n <= 200, so insertion into an array is cheap.
  const ready = tasks.flatMap((_, i) => (waitingOn[i] === 0 ? [i] : []));
  const order: string[] = [];
  while (ready.length > 0) {
    const i = ready.shift() as number;
    const task = tasks[i] as GraphTask;
    order.push(task.id);
    for (const dependent of dependents.get(task.id) ?? []) {
      const j = index.get(dependent) as number;
      const left = (waitingOn[j] ?? 0) - 1;
      waitingOn[j] = left;
      if (left === 0) insertSorted(ready, j);
    }
  }
  if (order.length !== tasks.length) {
    const stuck = tasks.filter((_, i) => (waitingOn[i] ?? 0) > 0).map((t) => t.id);
    throw new Error(`task graph has a cycle through: ${stuck.join(', ')}`);
  }
  return { order, seq: new Map(order.map((id, k) => [id, k + 1])), dependents, roots };
}

function insertSorted(sorted: number[], value: number): void {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  sorted.splice(lo, 0, value);
}

export type Readiness = 'run' | 'skip' | 'wait';

/** What a dependent needs to know about one finished (or unfinished) dependency. */
export interface DependencyOutcome {
  status: TaskStatus;
  on_failure: OnFailure;
}

/**
 * Decides a task from its dependencies' outcomes: 'wait' while any is not terminal (or
 * unknown); join 'all' skips if one was skipped, cancelled, or failed with on_failure 'fail'
 * (a 'continue' failure counts as done); join 'any' runs if at least one succeeded.
 */
export function decideReadiness(
  task: { join: JoinMode; depends_on: readonly string[] },
  depOutcomes: Readonly<Record<string, DependencyOutcome | undefined>>,
): Readiness {
  const outcomes: DependencyOutcome[] = [];
  for (const dep of task.depends_on) {
    // Own-property lookup: a dependency named like an Object.prototype member must not resolve.
    const outcome = Object.hasOwn(depOutcomes, dep) ? depOutcomes[dep] : undefined;
    if (outcome === undefined || !isTerminalTask(outcome.status)) return 'wait';
    outcomes.push(outcome);
  }
  if (task.join === 'any') {
    if (outcomes.length === 0) return 'run';
    return outcomes.some((o) => o.status === 'succeeded') ? 'run' : 'skip';
  }
  const blocked = outcomes.some(
    (o) => o.status === 'skipped' || o.status === 'cancelled' || (o.status === 'failed' && o.on_failure === 'fail'),
  );
  return blocked ? 'skip' : 'run';
}
