/**
 * Results, retries and failing runs (lib/engine/batch/results.ts, fatal.ts) on the in-memory
 * store: a retryable failure is retried with its backoff until its attempts run out; the last
 * failure ends the run when on_failure is fail (its unstarted tasks cancelled), and lets the
 * dependents run when it is continue.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../support/engine-fixture.js';

const failing = (id: string, extra: object = {}) => ({
  id,
  type: 'http',
  config: { method: 'GET', url: `http://svc/${id}` },
  ...extra,
});

describe('results and retries', () => {
  it('retries a 503 with backoff (its delay from the policy), then succeeds', async () => {
    let n = 0;
    const e = createEngine(() => (++n < 3 ? { status: 503, body: null } : { status: 200, body: { n } }));
    const { peid, roots } = e.start([failing('a', { retry: { max_attempts: 3, backoff_ms: 4000 } })]);
    await e.deliver(roots);
    expect(e.task(peid, 'a')).toMatchObject({ status: 'queued', attempts: 1, claim: null, finished_at: null });
    // Full jitter with random 0.5: half of 4 s, then half of 8 s.
    const retry = e.take();
    expect(retry.map((m) => [m.message.attempt, m.delaySeconds])).toEqual([[2, 2]]);
    await e.deliver(retry);
    const again = e.take();
    expect(again.map((m) => [m.message.attempt, m.delaySeconds])).toEqual([[3, 4]]);
    await e.deliver(again);
    expect(e.task(peid, 'a')).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      output_json: '{"status":200,"body":{"n":3}}',
    });
    expect(e.execution(peid)).toMatchObject({ execution_status: 'completed', open_tasks: [] });
  });

  it('does not retry a 4xx: the task fails at once', async () => {
    const e = createEngine(() => ({ status: 404, body: null }));
    const { peid, roots } = e.start([failing('a', { retry: { max_attempts: 3 } })]);
    await e.deliver(roots);
    expect(e.task(peid, 'a')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'HTTP_STATUS' } });
  });

  it('a failure with on_failure fail ends the run and cancels what had not started', async () => {
    const e = createEngine(() => ({ status: 500, body: null }));
    const { peid, roots } = e.start([
      failing('a'),
      { id: 'b', type: 'noop', depends_on: ['a'] },
      { id: 'slow', type: 'delay', config: { seconds: 60 } },
    ]);
    await e.deliver(roots.filter((m) => m.message.task_id === 'a'));
    expect(e.execution(peid)).toMatchObject({
      execution_status: 'failed',
      error: { code: 'TASK_FAILED', message: "task 'a' failed: integration answered 500" },
    });
    expect([e.task(peid, 'b').status, e.task(peid, 'slow').status]).toEqual(['cancelled', 'cancelled']);
    // The delayed task's message arrives later: cancelled runs start nothing.
    await e.deliver(roots.filter((m) => m.message.task_id === 'slow'));
    expect(e.calls).toEqual(['http://svc/a']);
    expect(e.task(peid, 'slow').status).toBe('cancelled');
  });

  it('on_failure continue: the run goes on and completes with the failure recorded', async () => {
    const e = createEngine(() => ({ status: 500, body: null }));
    const { peid, roots } = e.start([
      failing('a', { on_failure: 'continue' }),
      { id: 'b', type: 'noop', depends_on: ['a'] },
    ]);
    await e.deliver(roots);
    await e.drain();
    expect(e.task(peid, 'a').status).toBe('failed');
    expect(e.task(peid, 'b').status).toBe('succeeded');
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a task that throws fails alone; the others of its batch keep their results', async () => {
    const e = createEngine((req) => {
      if (req.url.endsWith('/boom')) throw new Error('exploded');
      return { status: 200, body: 'fine' };
    });
    const { peid, roots } = e.start([failing('boom', { on_failure: 'continue' }), failing('fine')]);
    expect(await e.deliver(roots)).toEqual([]);
    expect(e.task(peid, 'boom')).toMatchObject({ status: 'failed', error: { code: 'TASK_FAILED' } });
    expect(e.task(peid, 'fine')).toMatchObject({ status: 'succeeded' });
    expect(e.execution(peid).execution_status).toBe('completed');
  });
});
