/**
 * Small playbooks (3-5 tasks, each with a join) whose every http call carries the run's
 * peid and the task id in its path, so the stub's record says exactly which task attempt
 * called it. Shared by the delivery, crash and fault tests.
 */
import type { StubCall } from '../../support/stub-server.js';

export type Shape = 'diamond' | 'any_join' | 'branch' | 'retry_chain';

export const SHAPES: Shape[] = ['diamond', 'any_join', 'branch', 'retry_chain'];

/** Path of a task's call: /ok/<peid>/<task>. */
const ok = (stub: string, task: string) => `${stub}/ok/{{ execution.peid }}/${task}`;

/** The playbook body of a shape, named `${prefix}-${shape}` (ids use underscores, names hyphens). */
export function shapePlaybook(shape: Shape, stub: string, prefix: string): { name: string; tasks: unknown[] } {
  const name = `${prefix}-${shape.replace('_', '-')}`;
  switch (shape) {
    case 'diamond':
      // a -> (b, c) -> d (join all)
      return {
        name,
        tasks: [
          { id: 'a', type: 'http', config: { method: 'GET', url: ok(stub, 'a') } },
          {
            id: 'b',
            type: 'http',
            depends_on: ['a'],
            config: { method: 'POST', url: ok(stub, 'b'), body: { from: '{{ tasks.a.output.status }}' } },
          },
          { id: 'c', type: 'transform', depends_on: ['a'], config: { expression: 'alert.score * 2' } },
          {
            id: 'd',
            type: 'http',
            depends_on: ['b', 'c'],
            config: { method: 'POST', url: ok(stub, 'd'), body: { c: '{{ tasks.c.output }}' } },
          },
        ],
      };
    case 'any_join':
      // a -> (b flaky: fails once then retried, c 404 continue, d noop) -> e (join any)
      return {
        name,
        tasks: [
          { id: 'a', type: 'http', config: { method: 'GET', url: ok(stub, 'a') } },
          {
            id: 'b',
            type: 'http',
            depends_on: ['a'],
            retry: { max_attempts: 3, backoff_ms: 0, max_backoff_ms: 0 },
            config: { method: 'GET', url: `${stub}/flaky/{{ execution.peid }}-b/1` },
          },
          {
            id: 'c',
            type: 'http',
            depends_on: ['a'],
            on_failure: 'continue',
            config: { method: 'GET', url: `${stub}/status/404/{{ execution.peid }}/c` },
          },
          { id: 'd', type: 'noop', depends_on: ['a'] },
          {
            id: 'e',
            type: 'http',
            depends_on: ['b', 'c', 'd'],
            join: 'any',
            config: { method: 'GET', url: ok(stub, 'e') },
          },
        ],
      };
    case 'branch':
      // a (score) -> hi | lo by run_if -> done (join any); the branch not taken is skipped
      return {
        name,
        tasks: [
          { id: 'a', type: 'transform', config: { expression: 'alert.score' } },
          {
            id: 'hi',
            type: 'http',
            depends_on: ['a'],
            run_if: 'tasks.a.output > 50',
            config: { method: 'GET', url: ok(stub, 'hi') },
          },
          {
            id: 'lo',
            type: 'http',
            depends_on: ['a'],
            run_if: 'tasks.a.output <= 50',
            config: { method: 'GET', url: ok(stub, 'lo') },
          },
          {
            id: 'done',
            type: 'http',
            depends_on: ['hi', 'lo'],
            join: 'any',
            config: { method: 'GET', url: ok(stub, 'done') },
          },
          // join all over a skipped branch: skipped too
          { id: 'both', type: 'noop', depends_on: ['hi', 'lo'] },
        ],
      };
    case 'retry_chain':
      // a (fails twice, third attempt succeeds) + b -> c (join all)
      return {
        name,
        tasks: [
          {
            id: 'a',
            type: 'http',
            retry: { max_attempts: 3, backoff_ms: 0, max_backoff_ms: 0 },
            config: { method: 'GET', url: `${stub}/flaky/{{ execution.peid }}-a/2` },
          },
          { id: 'b', type: 'http', config: { method: 'GET', url: ok(stub, 'b') } },
          { id: 'c', type: 'transform', depends_on: ['a', 'b'], config: { expression: 'tasks.a.output.body.attempt' } },
        ],
      };
  }
}

/** Stub calls made on behalf of one task of one run (the path carries the peid and task id). */
export function callsOf(calls: StubCall[], peid: string, taskId: string): number {
  return calls.filter((c) => c.path.includes(`/${peid}/${taskId}`) || c.path.includes(`/${peid}-${taskId}/`)).length;
}
