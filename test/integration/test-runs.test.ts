/**
 * Test runs: `mode: "test"` with mocks per task id. Mocked tasks make no call (http, sub-playbook
 * start, loop expansion) and record `mocked: true`; the playbook's branching still runs on the
 * mocked outputs; unmocked tasks run for real; bad mocks are 400s; test runs are listed with
 * their mode.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  h.poller({ maxConcurrency: 4 }).start();
  await h.createPlaybook({
    name: 'contain',
    tasks: [
      { id: 'lookup', type: 'http', config: { method: 'GET', url: `${h.stub.url}/score/10/lookup` } },
      {
        id: 'score',
        type: 'transform',
        depends_on: ['lookup'],
        config: { expression: 'tasks.lookup.output.body.score' },
      },
      {
        id: 'block',
        type: 'http',
        depends_on: ['score'],
        run_if: 'tasks.score.output > 80',
        config: { method: 'POST', url: `${h.stub.url}/ok/block`, body: { ip: '{{ alert.src_ip }}' } },
      },
      {
        id: 'each',
        type: 'http',
        depends_on: ['score'],
        for_each: '[1, 2, 3]',
        config: { method: 'GET', url: `${h.stub.url}/ok/each/{{ item }}` },
      },
      { id: 'child', type: 'playbook', depends_on: ['score'], config: { name: 'ticket' } },
      { id: 'close', type: 'noop', depends_on: ['block', 'each', 'child'], join: 'any' },
    ],
  });
  await h.createPlaybook({
    name: 'ticket',
    tasks: [{ id: 'open', type: 'http', config: { method: 'POST', url: `${h.stub.url}/ok/ticket` } }],
  });
  await h.createPlaybook({
    name: 'retrying',
    tasks: [
      {
        id: 'call',
        type: 'http',
        retry: { max_attempts: 3, backoff_ms: 100, max_backoff_ms: 100 },
        config: { method: 'GET', url: `${h.stub.url}/ok/retrying` },
      },
      { id: 'after', type: 'noop', depends_on: ['call'] },
    ],
  });
});
afterAll(async () => h.close());
beforeEach(() => h.stub.reset());

async function start(body: Record<string, unknown>): Promise<string> {
  const res = await api('POST', '/runplaybook', { token: h.tokenA, body: { alert_id: 'a-test', ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return (res.body as { peid: string }).peid;
}

type Task = { task_id: string; status: string; output: unknown; error: unknown; attempts: number; mocked?: boolean };
const byId = (tasks: Task[]) => Object.fromEntries(tasks.map((t) => [t.task_id, t]));

describe('POST /runplaybook mode test', () => {
  it('mocked tasks make no call and record mocked: true; the branching runs on the mocked outputs', async () => {
    const peid = await start({
      playbook_name: 'contain',
      alert: { src_ip: '203.0.113.66' },
      mode: 'test',
      mocks: {
        lookup: { output: { status: 200, body: { score: 95 } } },
        block: { output: { status: 201, body: { rule_id: 'r-1' } } },
        each: { output: ['x', 'y'] },
        child: { output: { ticket: 'T-9' } },
      },
    });
    const e = (await h.waitFinished(peid)) as unknown as { execution_status: string; mode: string; tasks: Task[] };
    expect(e.execution_status).toBe('completed');
    expect(e.mode).toBe('test');
    const t = byId(e.tasks);
    expect(t.lookup).toMatchObject({ status: 'succeeded', mocked: true, output: { status: 200, body: { score: 95 } } });
    // Not mocked: computed from the mocked lookup.
    expect(t.score).toMatchObject({ status: 'succeeded', output: 95 });
    expect(t.score?.mocked).toBeUndefined();
    expect(t.block).toMatchObject({
      status: 'succeeded',
      mocked: true,
      output: { status: 201, body: { rule_id: 'r-1' } },
    });
    expect(t.each).toMatchObject({ status: 'succeeded', mocked: true, output: ['x', 'y'] });
    expect(t.child).toMatchObject({ status: 'succeeded', mocked: true, output: { ticket: 'T-9' } });
    expect(t.close?.status).toBe('succeeded');
    expect(h.stub.calls).toEqual([]);
    // No child run was started.
    const children = await api('GET', '/executions', { token: h.tokenA, query: { playbook_name: 'ticket' } });
    expect((children.body as { items: unknown[] }).items).toEqual([]);
  });

  it("a mocked task's run_if still decides: skipped, not mocked", async () => {
    const peid = await start({
      playbook_name: 'contain',
      mode: 'test',
      mocks: {
        lookup: { output: { status: 200, body: { score: 5 } } },
        block: { output: 'never' },
        each: { output: [] },
        child: { output: null },
      },
    });
    const t = byId(((await h.waitFinished(peid)) as unknown as { tasks: Task[] }).tasks);
    expect(t.block).toMatchObject({ status: 'skipped', output: null });
    expect(t.block?.mocked).toBeUndefined();
    expect(h.stub.calls).toEqual([]);
  });

  it('a mocked error fails the task once (no retry) and follows on_failure', async () => {
    const peid = await start({
      playbook_name: 'retrying',
      mode: 'test',
      mocks: { call: { error: { code: 'UPSTREAM_DOWN', message: 'firewall API down' } } },
    });
    const e = (await h.waitFinished(peid)) as unknown as { execution_status: string; tasks: Task[] };
    expect(e.execution_status).toBe('failed');
    const t = byId(e.tasks);
    expect(t.call).toMatchObject({
      status: 'failed',
      attempts: 1,
      mocked: true,
      error: { code: 'UPSTREAM_DOWN', message: 'firewall API down' },
    });
    expect(t.after?.status).toBe('cancelled');
    expect(h.stub.calls).toEqual([]);
  });

  it('unmocked tasks of a test run run for real; its sub-playbook runs are test runs too', async () => {
    const peid = await start({
      playbook_name: 'contain',
      mode: 'test',
      mocks: { lookup: { output: { status: 200, body: { score: 1 } } }, each: { output: [] } },
    });
    const e = (await h.waitFinished(peid)) as unknown as { execution_status: string; tasks: Task[] };
    expect(e.execution_status).toBe('completed');
    expect(h.stub.callsTo('/ok/ticket')).toHaveLength(1);
    expect(h.stub.callsTo('/score')).toHaveLength(0);
    const children = await api('GET', '/executions', { token: h.tokenA, query: { playbook_name: 'ticket' } });
    const [child] = (children.body as { items: Array<{ mode: string; trigger: unknown }> }).items;
    expect(child).toMatchObject({
      mode: 'test',
      trigger: { type: 'subplaybook', parent_peid: peid, task_id: 'child' },
    });
  });

  it('test runs are listed and found with mode test; live runs with mode live', async () => {
    const live = await start({ playbook_name: 'retrying' });
    await h.waitFinished(live);
    const tests = await api('GET', '/executions', { token: h.tokenA, query: { mode: 'test', limit: '100' } });
    const lives = await api('GET', '/executions', { token: h.tokenA, query: { mode: 'live', limit: '100' } });
    const testItems = (tests.body as { items: Array<{ peid: string; mode: string }> }).items;
    const liveItems = (lives.body as { items: Array<{ peid: string; mode: string }> }).items;
    expect(testItems.length).toBeGreaterThanOrEqual(4);
    expect(testItems.every((i) => i.mode === 'test')).toBe(true);
    expect(liveItems.map((i) => i.peid)).toContain(live);
    expect(liveItems.every((i) => i.mode === 'live')).toBe(true);
    expect((await h.execution(live)) as unknown as { mode: string; trigger: unknown }).toMatchObject({
      mode: 'live',
      trigger: { type: 'api' },
    });
  });

  it('refuses unknown task ids, mocks in a live run and malformed mocks, naming the field, and starts nothing', async () => {
    const before = await api('GET', '/executions', { token: h.tokenA, query: { limit: '100' } });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ mode: 'test', mocks: { nope: { output: 1 } } }, 'mocks.nope'],
      [{ mocks: { lookup: { output: 1 } } }, 'mocks'],
      [{ mode: 'live', mocks: { lookup: { output: 1 } } }, 'mocks'],
      [{ mode: 'test', mocks: { lookup: {} } }, 'mocks.lookup'],
      [{ mode: 'test', mocks: { lookup: { output: 1, error: { code: 'x', message: 'y' } } } }, 'mocks.lookup'],
      [{ mode: 'test', mocks: { lookup: { error: { code: 'x' } } } }, 'mocks.lookup'],
      [{ mode: 'test', mocks: { 'Bad Id': { output: 1 } } }, 'mocks'],
      [{ mode: 'dry' }, 'mode'],
    ];
    for (const [extra, path] of cases) {
      const res = await api('POST', '/runplaybook', {
        token: h.tokenA,
        body: { playbook_name: 'contain', alert_id: 'a', ...extra },
      });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      const paths = (res.body as { error: { details: Array<{ path: string }> } }).error.details.map((d) => d.path);
      expect(
        paths.some((p) => p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`)),
        `${JSON.stringify(extra)} -> ${paths}`,
      ).toBe(true);
    }
    const after = await api('GET', '/executions', { token: h.tokenA, query: { limit: '100' } });
    expect((after.body as { items: unknown[] }).items.length).toBe((before.body as { items: unknown[] }).items.length);
  });
});
