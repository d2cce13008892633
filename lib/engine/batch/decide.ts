/**
 * Deciding dependents from ends, without reading their tasks. A dependent is decided by the end
 * that changes its readiness from 'wait' to 'run' or 'skip' (domain/graph.ts decideReadiness):
 * exactly one end does, so exactly one caller decides it, and the conditional write from
 * `pending` makes any other attempt (a redelivery's fan-in) lose. Skips cascade in the same step.
 *
 * Two sources of ends (commit-group.ts):
 *   - this invocation's own, before they are closed: a dependent all of whose dependencies ended
 *     here, or were closed before this invocation read the run's record, is decided in the same
 *     bulk write as their results (nobody else can end this invocation's tasks: it held their
 *     claims or won their decisions; and no close can see them ended before this write is done);
 *   - a close's result: the run's record before and after the update that closed the tasks
 *     (`task_ends`), serialized on the run's document, so of two closes finishing the two parents
 *     of a join, the later one sees both ended.
 */
import { decideReadiness } from '../../domain/graph.js';
import type { TaskStatus } from '../../domain/statuses.js';
import type { RunGraph } from '../ports/run-graphs.js';

/** A task's end as a source knows it: its status, undefined while not ended, null when it cannot tell. */
export type EndOf = (taskId: string) => TaskStatus | undefined | null;

export interface Decision {
  task_id: string;
  to: 'run' | 'skip';
}

function readiness(graph: RunGraph, taskId: string, endOf: EndOf): 'run' | 'skip' | 'wait' | 'unknown' {
  const def = graph.get(taskId)?.def;
  if (!def) return 'wait';
  const outcomes: Record<string, { status: TaskStatus; on_failure: 'fail' | 'continue' }> = {};
  for (const d of def.depends_on) {
    const s = endOf(d);
    if (s === null) return 'unknown';
    if (s !== undefined) outcomes[d] = { status: s, on_failure: graph.get(d)?.def.on_failure ?? 'fail' };
  }
  return decideReadiness(def, outcomes);
}

/**
 * The dependents of `ended` that these ends decide: waiting with `before`, ready or skipped with
 * `after` (a skipped one counts as ended for its own dependents). `unknown`: some dependent's
 * dependency has ended without a recorded status (a run older than `task_ends`): read instead.
 */
export function flips(
  graph: RunGraph,
  ended: Iterable<string>,
  before: EndOf,
  after: EndOf,
  decided: ReadonlySet<string>,
): { decisions: Decision[]; unknown: boolean } {
  const skipped = new Set<string>();
  const afterWith: EndOf = (id) => (skipped.has(id) ? 'skipped' : after(id));
  const seen = new Set<string>();
  const decisions: Decision[] = [];
  let unknown = false;
  const stack = [...ended];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    for (const dep of graph.get(id)?.dependents ?? []) {
      if (decided.has(dep) || seen.has(dep)) continue;
      const now = readiness(graph, dep, afterWith);
      if (now === 'unknown') unknown = true;
      if (now !== 'run' && now !== 'skip') continue;
      if (readiness(graph, dep, before) !== 'wait') continue;
      seen.add(dep);
      decisions.push({ task_id: dep, to: now });
      if (now === 'skip') {
        skipped.add(dep);
        stack.push(dep);
      }
    }
  }
  return { decisions, unknown };
}
