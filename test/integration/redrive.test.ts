/** Redrive re-runs only what did not succeed, as a new attempt with history kept. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { createHarness, type Harness, statuses } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());
beforeEach(() => h.stub.reset());

describe('POST /executions/{peid}/redrive', () => {
  it('after the integration is fixed, completes the run without calling succeeded integrations again', async () => {
    // /flaky/<key>/1 fails its first call and succeeds afterwards: "the stub gets fixed".
    await h.createPlaybook({
      name: 'redrive-me',
      tasks: [
        { id: 'enrich', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/enrich` } },
        { id: 'intel', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/intel` } },
        {
          id: 'block',
          type: 'http',
          depends_on: ['enrich'],
          config: { method: 'POST', url: `${h.stub.url}/flaky/fw/1` },
        },
        {
          id: 'notify',
          type: 'http',
          depends_on: ['block', 'intel'],
          config: { method: 'POST', url: `${h.stub.url}/ok/notify` },
        },
      ],
    });
    const poller = h.poller().start();
    const peid = await h.startRun('redrive-me');
    const failed = await h.waitFinished(peid);
    expect(failed.execution_status).toBe('failed');
    expect(statuses(failed)).toEqual({ enrich: 'succeeded', intel: 'succeeded', block: 'failed', notify: 'cancelled' });
    const callsBefore = h.stub.calls.length;

    const res = await api('POST', `/executions/${peid}/redrive`, { token: h.tokenA });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ peid, execution_status: 'running', attempt: 2 });
    const done = await h.waitFinished(peid);
    await poller.stop();

    expect(done.execution_status).toBe('completed');
    expect(statuses(done)).toEqual({
      enrich: 'succeeded',
      intel: 'succeeded',
      block: 'succeeded',
      notify: 'succeeded',
    });
    const again = h.stub.calls.slice(callsBefore).map((c) => c.path);
    expect(again.sort()).toEqual(['/flaky/fw/1', '/ok/notify']);
    const view = done as unknown as { attempt: number; history: Array<{ attempt: number; execution_status: string }> };
    expect(view.attempt).toBe(2);
    expect(view.history).toEqual([expect.objectContaining({ attempt: 1, execution_status: 'failed' })]);
    // A completed run has nothing to redrive; another tenant cannot see it.
    expect((await api('POST', `/executions/${peid}/redrive`, { token: h.tokenA })).status).toBe(409);
    expect((await api('POST', `/executions/${peid}/redrive`, { token: h.tokenB })).status).toBe(404);
  });

  it('re-runs only the failed items of a for_each task', async () => {
    await h.createPlaybook({
      name: 'redrive-each',
      tasks: [
        {
          id: 'scan',
          type: 'http',
          for_each: '["a", "b", "c", "d"]',
          concurrency: 2,
          config: { method: 'GET', url: `${h.stub.url}/flaky/item-{{ item }}/{{ item = "c" ? 1 : 0 }}` },
        },
      ],
    });
    const poller = h.poller().start();
    const peid = await h.startRun('redrive-each');
    const failed = await h.waitFinished(peid);
    expect(failed.execution_status).toBe('failed');
    const callsBefore = h.stub.calls.length;
    expect((await api('POST', `/executions/${peid}/redrive`, { token: h.tokenA })).status).toBe(202);
    const done = await h.waitFinished(peid);
    await poller.stop();
    expect(done.execution_status).toBe('completed');
    const retried = h.stub.calls.slice(callsBefore).map((c) => c.path);
    // Only c failed; items cancelled when the run failed (if any) run again too, never a succeeded one.
    expect(retried).toContain('/flaky/item-c/1');
    const items = (failed.tasks[0] as unknown as { items: Array<{ index: number; status: string }> }).items;
    const succeeded = items.filter((i) => i.status === 'succeeded').map((i) => ['a', 'b', 'c', 'd'][i.index]);
    expect(succeeded.length).toBeGreaterThan(0);
    for (const name of succeeded) expect(retried.some((p) => p.includes(`/item-${name}/`))).toBe(false);
    const outputs = (done.tasks[0]?.output ?? []) as Array<{ status: number }>;
    expect(outputs.map((o) => o.status)).toEqual([200, 200, 200, 200]);
  });

  it('refuses a running run with 409', async () => {
    await h.createPlaybook({ name: 'redrive-slow', tasks: [{ id: 'wait', type: 'delay', config: { seconds: 30 } }] });
    const peid = await h.startRun('redrive-slow');
    expect((await api('POST', `/executions/${peid}/redrive`, { token: h.tokenA })).status).toBe(409);
  });
});
