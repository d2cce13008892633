/**
 * The fan-in and inline tasks (lib/engine/batch/fan-in.ts, inline.ts) on the in-memory store:
 * a join waits for all its dependencies, skips cascade in the same step, a join decided by two
 * batches at once is queued once, and ready transforms run in the invocation that decided
 * them, at most four in a row, never an http call.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../support/engine-fixture.js';

const http = (id: string, extra: object = {}) => ({
  id,
  type: 'http',
  config: { method: 'GET', url: `http://svc/${id}` },
  ...extra,
});
const ids = (messages: Array<{ message: { task_id: string } }>) => messages.map((m) => m.message.task_id).sort();

describe('fan-in', () => {
  it('a join waits for every dependency; the last one queues it', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([http('a'), http('b'), http('join', { depends_on: ['a', 'b'] })]);
    await e.deliver(roots.filter((m) => m.message.task_id === 'a'));
    expect(e.take()).toEqual([]);
    expect(e.task(peid, 'join').status).toBe('pending');
    await e.deliver(roots.filter((m) => m.message.task_id === 'b'));
    expect(ids(e.take())).toEqual(['join']);
    expect(e.task(peid, 'join').status).toBe('queued');
  });

  it('skips cascade down the graph in one step, and the run completes', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([
      { id: 'gate', type: 'transform', config: { expression: 'false' } },
      http('go', { depends_on: ['gate'], run_if: 'tasks.gate.output' }),
      http('then', { depends_on: ['go'] }),
      http('finally', { depends_on: ['then'] }),
    ]);
    await e.deliver(roots);
    await e.drain();
    expect(['go', 'then', 'finally'].map((id) => e.task(peid, id).status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(e.calls).toEqual([]);
    expect(e.execution(peid)).toMatchObject({ execution_status: 'completed', open_tasks: [] });
  });

  it('two batches finishing the two parents of a join at once queue it once', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([http('a'), http('b'), http('join', { depends_on: ['a', 'b'] })]);
    await Promise.all(roots.filter((m) => m.message.task_id !== 'join').map((m) => e.deliver([m])));
    const join = e.take();
    expect(ids(join)).toEqual(['join']);
    await e.deliver(join);
    expect(e.calls.sort()).toEqual(['http://svc/a', 'http://svc/b', 'http://svc/join']);
    expect(e.execution(peid).execution_status).toBe('completed');
  });
});

describe('inline tasks', () => {
  it('a chain of 7 transforms takes 2 messages: 1 + 4 inline, then 1 + 1 inline', async () => {
    const e = createEngine();
    const chain = [
      { id: 't1', type: 'transform', config: { expression: '1' } },
      ...[2, 3, 4, 5, 6, 7].map((i) => ({
        id: `t${i}`,
        type: 'transform',
        depends_on: [`t${i - 1}`],
        config: { expression: `tasks.t${i - 1}.output + 1` },
      })),
    ];
    const { peid, roots } = e.start(chain);
    await e.deliver(roots);
    const next = e.take();
    expect(ids(next)).toEqual(['t6']);
    await e.deliver(next);
    expect(e.take()).toEqual([]);
    expect([1, 2, 3, 4, 5, 6, 7].map((i) => e.task(peid, `t${i}`).output_json)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
    ]);
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a join after http calls runs inline; the calls themselves are always queued', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([
      http('c1'),
      http('c2'),
      { id: 'join', type: 'transform', depends_on: ['c1', 'c2'], config: { expression: '"done"' } },
      http('after', { depends_on: ['join'] }),
    ]);
    await e.deliver(roots);
    expect(e.task(peid, 'join').output_json).toBe('"done"');
    expect(ids(e.take())).toEqual(['after']);
  });

  it('not when the batch has little time left: the ready transform is queued instead', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([
      http('c1'),
      { id: 'join', type: 'transform', depends_on: ['c1'], config: { expression: '1' } },
    ]);
    await e.deliver(roots, 6_000);
    expect(ids(e.take())).toEqual(['join']);
    expect(e.task(peid, 'join').status).toBe('queued');
  });
});
