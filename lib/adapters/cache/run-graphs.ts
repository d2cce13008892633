/**
 * The graphs of pinned playbook versions (the RunGraphs port), for executeTask: versions are
 * immutable, so an entry is never revalidated. L1 is the container's memory (bounded in entries and
 * bytes); on a miss, the version's definition in the playbook cache's L2 (Redis, the `pbv` key that
 * runPlaybook and every playbook write fill); on a miss there too, nothing: the batch reads the
 * run's task documents and remembers the graph they carry.
 */
import { LRUCache } from 'lru-cache';
import { buildGraph } from '../../domain/graph.js';
import type { StoredPlaybook } from '../../engine/model.js';
import type { GraphNode, PinnedVersion, RunGraph, RunGraphs } from '../../engine/ports/run-graphs.js';
import { versionKey } from './playbook-cache.js';
import type { RedisGuard } from './redis-guard.js';

export interface RunGraphsOptions {
  maxEntries: number;
  maxBytes: number;
  /** Namespace of the Redis keys (the playbook cache's). */
  keyPrefix: string;
}

/** A version's graph, as planRun lays it on the run's task documents. */
export function graphOfPlaybook(p: Pick<StoredPlaybook, 'tasks'>): RunGraph {
  const g = buildGraph(p.tasks);
  return new Map(
    p.tasks.map((def): [string, GraphNode] => [
      def.id,
      {
        task_id: def.id,
        task_seq: g.seq.get(def.id) ?? 0,
        type: def.type,
        def,
        dependents: g.dependents.get(def.id) ?? [],
      },
    ]),
  );
}

/** `guard` undefined: the container's memory only. */
export function createRunGraphs(guard: RedisGuard | undefined, opts: RunGraphsOptions): RunGraphs {
  const l1 = new LRUCache<string, { graph: RunGraph; size: number }>({
    max: opts.maxEntries,
    maxSize: opts.maxBytes,
    sizeCalculation: (e) => Math.max(1, e.size),
  });
  const key = (r: PinnedVersion) => `${r.tenant_code}/${r.pid}/${r.playbook_version}`;
  const sizeOf = (graph: RunGraph) => {
    let n = 0;
    for (const node of graph.values()) n += JSON.stringify(node.def).length + 64;
    return n;
  };
  return {
    async get(run) {
      const hit = l1.get(key(run));
      if (hit) return hit.graph;
      if (!guard) return undefined;
      const json = await guard.run('read playbook version', (r) =>
        r.get(versionKey(opts.keyPrefix, run.tenant_code, run.pid, run.playbook_version)),
      );
      if (typeof json !== 'string') return undefined;
      try {
        const p = JSON.parse(json) as StoredPlaybook;
        if (p.pid !== run.pid || p.version !== run.playbook_version || !Array.isArray(p.tasks)) return undefined;
        const graph = graphOfPlaybook(p);
        l1.set(key(run), { graph, size: json.length });
        return graph;
      } catch {
        return undefined;
      }
    },
    remember(run, graph) {
      if (!l1.has(key(run))) l1.set(key(run), { graph, size: sizeOf(graph) });
    },
  };
}
