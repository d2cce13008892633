/**
 * What one invocation knows of each run it touches: the run's record as last seen (read at
 * intake, then as each close of this invocation left it), the graph of its pinned version, every
 * graph task's state as far as this invocation knows it, and which ends this invocation wrote
 * itself (the only ones it may decide dependents from before closing them: commit-group.ts).
 */
import { isTerminalTask } from '../../domain/statuses.js';
import { type ExecutionRecord, endedOn, NOT_STARTED, type TaskRecord } from '../model.js';
import type { GraphNode, RunGraph } from '../ports/run-graphs.js';
import type { TaskStateRecord } from '../ports/task-claims.js';
import { buildContext, type TemplateContext } from '../run-task.js';

export interface RunView {
  /** The run's record as last seen. */
  exec: ExecutionRecord;
  graph: RunGraph;
  /** Every graph task by id: read, or (a run nothing of which has ended) laid out from the graph. */
  tasks: Map<string, TaskRecord>;
  /** Graph tasks whose end this invocation wrote: results of claims it held, decisions it won. */
  ours: Set<string>;
  /** Inline depth of the tasks this invocation ran (delivered: 0). */
  depth: Map<string, number>;
  /** Dependents this invocation decided (queued, skipped or ran inline): never decided twice. */
  decided: Set<string>;
  /** A commit of this run failed: what this invocation knows may not be stored; it decides nothing more itself. */
  broken: boolean;
}

/** A graph task of a run none of whose tasks has ended: queued if a root, else pending; nothing run. */
function laidOut(exec: ExecutionRecord, node: GraphNode): TaskRecord {
  return {
    ...node,
    peid: exec.peid,
    tenant_code: exec.tenant_code,
    alert_id: exec.alert_id,
    status: node.def.depends_on.length === 0 ? 'queued' : 'pending',
    ...NOT_STARTED,
    createddate: exec.createddate,
    updateddate: exec.createddate,
  };
}

/** A run view from states read after the claim (definitions from the graph), or laid out when none were read. */
export function viewOf(exec: ExecutionRecord, graph: RunGraph, states?: Array<TaskStateRecord | TaskRecord>): RunView {
  const tasks = new Map<string, TaskRecord>();
  if (states) {
    for (const s of states) {
      const node = graph.get(s.task_id);
      if (node && s.peid === exec.peid) tasks.set(s.task_id, { ...s, def: node.def, dependents: node.dependents });
    }
  }
  for (const node of graph.values()) if (!tasks.has(node.task_id)) tasks.set(node.task_id, laidOut(exec, node));
  return { exec, graph, tasks, ours: new Set(), depth: new Map(), decided: new Set(), broken: false };
}

/** The graph of a run from its own task documents (which carry the pinned definitions). */
export function graphOfTasks(tasks: TaskRecord[]): RunGraph {
  return new Map(
    tasks.map((t) => [
      t.task_id,
      { task_id: t.task_id, task_seq: t.task_seq, type: t.type, def: t.def, dependents: t.dependents },
    ]),
  );
}

/** True when nothing of the run has ended (every graph task open, their ends kept): no output to read. */
export function nothingEnded(exec: ExecutionRecord, graph: RunGraph): boolean {
  return exec.task_ends !== undefined && exec.open_tasks.length === graph.size;
}

/** Tasks the run shows ended whose result this invocation has not seen: a context needs them read. */
export function unseenEnds(view: RunView): string[] {
  const out: string[] = [];
  for (const id of view.graph.keys()) {
    if (view.exec.open_tasks.includes(id)) continue;
    const t = view.tasks.get(id);
    if (!t || !isTerminalTask(t.status)) out.push(id);
  }
  return out;
}

/** Records a task state this invocation learnt (its own result, or a read). */
export function learn(view: RunView, state: Partial<TaskRecord> & { task_id: string }): void {
  const t = view.tasks.get(state.task_id);
  if (t) view.tasks.set(state.task_id, { ...t, ...state, def: t.def, dependents: t.dependents });
}

/** The inline depth of a task decided from its dependencies here: one more than the deepest of them. */
export function depthAfter(view: RunView, taskId: string): number {
  const deps = view.graph.get(taskId)?.def.depends_on ?? [];
  return 1 + Math.max(0, ...deps.map((id) => view.depth.get(id) ?? 0));
}

/** The template context of the run as this invocation knows it. */
export function contextOf(view: RunView): TemplateContext {
  return buildContext(view.exec, [...view.tasks.values()]);
}

/**
 * The status of a graph task as the record `exec` shows it, for deciding dependents: its end if
 * it has ended, undefined while open, null when closed without a recorded end (a run older than
 * `task_ends`: only a read of the task can tell).
 */
export function endOn(exec: ExecutionRecord, taskId: string): TaskRecord['status'] | undefined | null {
  if (exec.open_tasks.includes(taskId)) return undefined;
  if (!endedOn(exec, taskId)) return null;
  return exec.task_ends?.[taskId];
}
