/**
 * Deciding what follows a group's own ends is done in memory before the group's one write. If
 * that throws (a definition the graph cannot decide from), the results are written all the same
 * and the close decides instead: a finished task's result is never lost to a failure downstream
 * of it, and its integration is never called again for it.
 */
import { describe, expect, it } from 'vitest';
import type { GraphNode, RunGraphs } from '../../../lib/engine/ports/run-graphs.js';
import { createEngine } from '../../support/engine-fixture.js';

const http = (id: string, extra: object = {}) => ({
  id,
  type: 'http',
  config: { method: 'GET', url: `http://svc/${id}` },
  ...extra,
});

/** The engine's graph cache, with `taskId`'s dependents replaced by something no decision can walk. */
function corrupting(real: RunGraphs, taskId: string): RunGraphs {
  return {
    ...real,
    async get(run) {
      const graph = await real.get(run);
      const node = graph?.get(taskId);
      if (!graph || !node) return graph;
      const bad = new Map<string, GraphNode>(graph);
      bad.set(taskId, { ...node, dependents: 42 as unknown as string[] });
      return bad;
    },
  };
}

describe('a failure deciding dependents', () => {
  it("writes the group's results first: the task ends succeeded, its message is left for redelivery, nothing is decided", async () => {
    const e = createEngine();
    const { peid, roots } = e.start([http('a'), http('b', { depends_on: ['a'] })]);
    e.deps.graphs = corrupting(e.deps.graphs as RunGraphs, 'a');
    const failed = await e.deliver(roots);
    expect(e.task(peid, 'a')).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(e.task(peid, 'b').status).toBe('pending');
    // The close decides from the same graph and fails too: the message goes back, nothing is sent.
    expect(failed).toEqual(['m0']);
    expect(e.take()).toEqual([]);
    expect(e.calls).toEqual(['http://svc/a']);
  });

  it('once the graph is sound again, the redelivery decides what follows without calling the task again', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([http('a'), http('b', { depends_on: ['a'] })]);
    const real = e.deps.graphs as RunGraphs;
    e.deps.graphs = corrupting(real, 'a');
    await e.deliver(roots);
    e.deps.graphs = real;
    expect(await e.deliver(roots)).toEqual([]);
    await e.drain();
    expect(e.calls).toEqual(['http://svc/a', 'http://svc/b']);
    expect(e.execution(peid).execution_status).toBe('completed');
  });
});
