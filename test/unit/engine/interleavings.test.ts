/**
 * The interleavings the integration tests reach with real servers and sleeps, decided here
 * message by message on the in-memory store and a clock the test moves: duplicate delivery,
 * takeover after a lease runs out, redelivery of a finished task, and a crash between the
 * result write and the fan-in.
 */
import { describe, expect, it } from 'vitest';
import { taskKey } from '../../../lib/engine/model.js';
import { createEngine, TENANT } from '../../support/engine-fixture.js';

const http = (id: string, extra: object = {}) => ({
  id,
  type: 'http',
  config: { method: 'GET', url: `http://svc/${id}` },
  ...extra,
});

describe('interleavings', () => {
  it('a message delivered twice in one batch, then again in another, calls the integration once', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([http('a'), http('b', { depends_on: ['a'] })]);
    expect(await e.deliver([...roots, ...roots])).toEqual([]);
    expect(await e.deliver(roots)).toEqual([]);
    await e.drain();
    expect(e.calls).toEqual(['http://svc/a', 'http://svc/b']);
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a copy arriving while another worker holds the attempt waits; after its lease runs out it takes over', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([http('a')]);
    const ref = { tenant_code: TENANT, peid };
    // A worker claims the attempt and dies before writing anything.
    expect(
      await e.store.claimTasks([{ ...ref, task_id: 'a', attempt: 1 }], 'dead-worker', e.now() + 10_000, e.now()),
    ).toBe(1);
    expect(await e.deliver(roots)).toEqual(['m0']);
    expect(e.calls).toEqual([]);
    e.advance(10_001);
    expect(await e.deliver(roots)).toEqual([]);
    expect(e.calls).toEqual(['http://svc/a']);
    expect(e.task(peid, 'a')).toMatchObject({ status: 'succeeded', attempts: 1, claim: null });
    expect(e.execution(peid).execution_status).toBe('completed');
    // The dead worker's late write changes nothing: it no longer holds the task.
    await e.store.writeTaskResults(
      [
        {
          ...ref,
          task_id: 'a',
          status: 'failed',
          output_json: null,
          truncated: false,
          error: null,
          finished_at: 0,
          duration_ms: 0,
        },
      ],
      'dead-worker',
      e.now(),
    );
    expect(e.task(peid, 'a').status).toBe('succeeded');
  });

  it('a redelivered finished task calls nothing and re-sends only dependents queued but never started', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([http('a'), http('b', { depends_on: ['a'] }), http('c', { depends_on: ['a'] })]);
    await e.deliver(roots);
    const dependents = e.take();
    expect(dependents.map((m) => m.message.task_id).sort()).toEqual(['b', 'c']);
    await e.deliver(dependents.filter((m) => m.message.task_id === 'b'));
    // `c`'s message was lost: the redelivered `a` sends it again; `b` has started and is not re-sent.
    await e.deliver(roots);
    const resent = e.take();
    expect(resent.map((m) => m.message.task_id)).toEqual(['c']);
    expect(e.calls).toEqual(['http://svc/a', 'http://svc/b']);
    await e.deliver(resent);
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a crash between the result write and the fan-in: the redelivered message decides the dependents and completes the run', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([http('a'), http('b', { depends_on: ['a'] })]);
    const ref = { tenant_code: TENANT, peid };
    // The first worker claimed `a`, called it and wrote its result, then died.
    await e.store.claimTasks([{ ...ref, task_id: 'a', attempt: 1 }], 'w1', e.now() + 60_000, e.now());
    const result = {
      status: 'succeeded' as const,
      output_json: '1',
      truncated: false,
      error: null,
      finished_at: e.now(),
      duration_ms: 1,
    };
    await e.store.writeTaskResults([{ ...ref, task_id: 'a', ...result }], 'w1', e.now());
    expect(e.task(peid, 'b').status).toBe('pending');
    await e.deliver(roots);
    expect(e.calls).toEqual([]);
    const decided = e.take();
    expect(decided.map((m) => m.message.task_id)).toEqual(['b']);
    expect(e.execution(peid).open_tasks).toEqual(['b']);
    await e.deliver(decided);
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a crash after an inline task was claimed: the redelivered parent re-sends it once its lease ran out', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([
      http('a'),
      { id: 'join', type: 'transform', depends_on: ['a'], config: { expression: '2' } },
    ]);
    const ref = { tenant_code: TENANT, peid };
    await e.deliver(roots);
    expect(e.task(peid, 'join').status).toBe('succeeded');
    // Replay the crash: `join` claimed inline by a worker that died (status running, lease set).
    e.store.tasks.set(taskKey(peid, 'join'), {
      ...e.task(peid, 'join'),
      status: 'running',
      output_json: null,
      claim: { token: 'dead', until: e.now() + 1_000 },
    });
    e.store.executions.set(peid, { ...e.execution(peid), execution_status: 'running', open_tasks: ['join'] });
    await e.deliver(roots);
    expect(e.take()).toEqual([]);
    e.advance(1_001);
    await e.deliver(roots);
    expect(e.take().map((m) => [m.message.task_id, m.message.attempt])).toEqual([['join', 1]]);
    expect(ref.peid).toBe(peid);
  });
});
