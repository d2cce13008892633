/**
 * Loop settlement (lib/engine/batch/loops.ts) on the in-memory store: items hand their window
 * slot over one by one, the loop finishes with the outputs in input order when its last item
 * closes, a failed item under on_failure fail fails the loop and the run, and redelivered items
 * settle again without queueing anything twice.
 */
import { describe, expect, it } from 'vitest';
import { itemTaskId } from '../../../lib/engine/model.js';
import { createEngine } from '../../support/engine-fixture.js';

const loop = (extra: object = {}) => ({
  id: 'each',
  type: 'transform',
  for_each: 'alert.list',
  concurrency: 2,
  config: { expression: 'item * 10' },
  ...extra,
});

describe('for_each loops', () => {
  it('keeps at most `concurrency` items queued, hands slots over, and outputs in input order', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([loop(), { id: 'after', type: 'noop', depends_on: ['each'] }], {
      list: [1, 2, 3, 4, 5],
    });
    await e.deliver(roots);
    expect(e.task(peid, 'each')).toMatchObject({
      status: 'running',
      claim: null,
      items_total: 5,
      open_items: [0, 1, 2, 3, 4],
    });
    const first = e.take();
    expect(first.map((m) => m.message.task_id)).toEqual([itemTaskId('each', 0), itemTaskId('each', 1)]);
    // Item 1 finishes first: it hands its slot to item 3, not 2.
    await e.deliver(first.slice(1));
    const handedOver = e.take();
    expect(handedOver.map((m) => m.message.task_id)).toEqual(['each[3]']);
    expect(e.task(peid, 'each').open_items).toEqual([0, 2, 3, 4]);
    await e.deliver([...first.slice(0, 1), ...handedOver]);
    await e.drain();
    expect(e.task(peid, 'each')).toMatchObject({
      status: 'succeeded',
      output_json: '[10,20,30,40,50]',
      open_items: [],
    });
    expect(e.task(peid, 'after').status).toBe('succeeded');
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a redelivered finished item settles again without queueing its successor twice', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([loop({ concurrency: 1 })], { list: [1, 2, 3] });
    await e.deliver(roots);
    const item0 = e.take();
    await e.deliver(item0);
    const item1 = e.take();
    expect(item1.map((m) => m.message.task_id)).toEqual(['each[1]']);
    await e.deliver(item0);
    expect(e.take()).toEqual([]);
    expect(e.task(peid, 'each').open_items).toEqual([1, 2]);
    await e.deliver(item1);
    await e.drain();
    expect(e.task(peid, 'each').output_json).toBe('[10,20,30]');
  });

  it('an empty list succeeds at once with an empty output, writing no item', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([loop()], { list: [] });
    await e.deliver(roots);
    expect(e.task(peid, 'each')).toMatchObject({ status: 'succeeded', output_json: '[]' });
    expect([...e.store.tasks.keys()].filter((k) => k.includes('['))).toEqual([]);
  });

  it('a failed item under on_failure fail fails the loop with it and the run; its other items are cancelled', async () => {
    const e = createEngine(() => ({ status: 400, body: null }));
    const { peid, roots } = e.start(
      [
        {
          id: 'each',
          type: 'http',
          for_each: 'alert.list',
          concurrency: 1,
          config: { method: 'GET', url: 'http://svc/x' },
        },
      ],
      { list: [1, 2, 3] },
    );
    await e.deliver(roots);
    await e.drain();
    expect(e.calls).toHaveLength(1);
    expect(e.task(peid, 'each')).toMatchObject({ status: 'failed', error: { code: 'TASK_FAILED' } });
    expect(e.execution(peid)).toMatchObject({
      execution_status: 'failed',
      error: { message: "task 'each[0]' failed: integration answered 400" },
    });
    expect([e.task(peid, 'each[1]').status, e.task(peid, 'each[2]').status]).toEqual(['cancelled', 'cancelled']);
  });

  it('under on_failure continue the loop waits for every item and fails with a count', async () => {
    let n = 0;
    const e = createEngine(() => (++n === 2 ? { status: 400, body: null } : { status: 200, body: n }));
    const { peid, roots } = e.start(
      [
        {
          id: 'each',
          type: 'http',
          for_each: 'alert.list',
          on_failure: 'continue',
          config: { method: 'GET', url: 'http://svc/x' },
        },
      ],
      { list: [1, 2, 3] },
    );
    await e.deliver(roots);
    await e.drain();
    expect(e.task(peid, 'each')).toMatchObject({ status: 'failed', error: { code: 'ITEMS_FAILED' } });
    expect(e.execution(peid).execution_status).toBe('completed');
  });
});
