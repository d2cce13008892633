/**
 * The task graphs of pinned playbook versions (a run records its pid and version; versions are
 * immutable), from a cache: the batch takes a run's definitions and dependents from here instead
 * of reading them from each task document.
 */
import type { ExecutionRecord, TaskRecord } from '../model.js';

/** One task of a version's graph, as its run's task documents carry it. */
export type GraphNode = Pick<TaskRecord, 'task_id' | 'task_seq' | 'type' | 'def' | 'dependents'>;

/** A version's graph: every task by id. */
export type RunGraph = ReadonlyMap<string, GraphNode>;

/** What names a run's pinned version. */
export type PinnedVersion = Pick<ExecutionRecord, 'tenant_code' | 'pid' | 'playbook_version'>;

export interface RunGraphs {
  /** The graph of `run`'s pinned version when a cache holds it; undefined otherwise (read the run's tasks). */
  get(run: PinnedVersion): Promise<RunGraph | undefined>;
  /** Remembers the graph read from a run's own task documents. */
  remember(run: PinnedVersion, graph: RunGraph): void;
}
