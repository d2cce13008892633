/**
 * Containment with undo through the real handlers, the real consumer (executeTask behind the
 * Lambda-like poller), MongoDB, SQS and a recording HTTP stub (docs/containment.md): rollback in
 * reverse dependency order on a diamond (from the stub's call log: order, not times), a rollback
 * repeated (and two at once) calling each undo once, an expiring block undone once by its timer
 * whatever the duplicated deliveries, a rollback racing the expiry, a rollback of a running run
 * (and of a task still running when it starts), the undo-failure path, redrive after an undo,
 * test runs, the timeline, GET /containments, and tenant isolation.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { timerId } from '../../lib/domain/timers.js';
import { fireTimers } from '../../lib/engine/fire-timers.js';
import { timerMessage } from '../../lib/engine/timers.js';
import { metrics } from '../../lib/observability.js';
import { fireTimersDeps } from '../../lib/wiring/approvals.js';
import { taskQueue } from '../../lib/wiring/index.js';
import { directDb } from '../reliability/support/fixtures.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import type { SqsPoller } from '../support/sqs-poller.js';

let h: Harness;
let poller: SqsPoller;
let direct: Awaited<ReturnType<typeof directDb>>;
let db: Db;

interface UndoView {
  status: string;
  applied_at: number;
  undo_at: number | null;
  by: string | null;
  attempts: number;
  finished_at: number | null;
  response_status: number | null;
  error: { code: string; message: string } | null;
}
interface Execution {
  execution_status: string;
  attempt: number;
  rollback?: { attempt: number; at: number; by: string };
  tasks: Array<{ task_id: string; status: string; output: unknown; undo?: UndoView }>;
}
interface Containment extends UndoView {
  peid: string;
  task_id: string;
  playbook_name: string;
}

const blockTask = (id: string, depends_on: string[] = [], extra: Record<string, unknown> = {}) => ({
  id,
  type: 'http',
  depends_on,
  config: { method: 'POST', url: `${h.stub.url}/ok/apply/${id}`, body: { ip: '{{ alert.ip }}' } },
  undo: {
    method: 'DELETE',
    url: `${h.stub.url}/ok/undo/${id}/{{ execution.peid }}/{{ $encodeUrlComponent(tasks.${id}.output.body.path) }}`,
  },
  ...extra,
});

async function execution(peid: string, token = h.tokenA): Promise<Execution> {
  const res = await api('GET', `/executions/${peid}`, { token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Execution;
}

async function eventually<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the task queue holds nothing (visible, in flight or delayed), twice in a row: what was sent has been handled. */
async function drained(): Promise<void> {
  let quiet = 0;
  await eventually(
    'an empty task queue',
    async () => {
      const res = await h.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: process.env.TASK_QUEUE_URL,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      const n = Object.values(res.Attributes ?? {}).reduce((sum, v) => sum + Number(v), 0);
      quiet = n === 0 ? quiet + 1 : 0;
      if (quiet < 2) await new Promise((r) => setTimeout(r, 200));
      return quiet;
    },
    (q) => q >= 2,
  );
}

const undoStates = async (peid: string) =>
  Object.fromEntries((await execution(peid)).tasks.map((t) => [t.task_id, t.undo?.status ?? null]));

/** Waits until the run's undo states are `expected` (task id -> status, null: no containment). */
async function undosAre(peid: string, expected: Record<string, string | null>): Promise<void> {
  await eventually(
    'undos of the run',
    () => undoStates(peid),
    (s) => JSON.stringify(s) === JSON.stringify(expected),
  );
}

async function rollback(peid: string, token = h.tokenA) {
  return api('POST', `/executions/${peid}/rollback`, { token });
}

/** The undo calls of run `peid` (their path carries the task id and the peid), in the order the stub received them. */
const undoCalls = (peid: string) =>
  h.stub.calls
    .filter((c) => c.path.startsWith('/ok/undo/') && c.path.split('/')[4] === peid)
    .map((c) => c.path.split('/')[3]);

async function containments(query: Record<string, string> = {}, token = h.tokenA) {
  const res = await api('GET', '/containments', { token, query });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { items: Containment[]; next: string | null };
}

/** Makes a containment's expiry due now: its undo time and its timer moved into the past, as time passing would. */
async function makeExpiryDue(peid: string, taskId: string, gen = 1): Promise<string> {
  const past = Date.now() - 1_000;
  await db
    .collection(COLLECTIONS.tasks)
    .updateOne({ _id: `${peid}:${taskId}` as never }, { $set: { 'undo.undo_at': past } });
  const id = timerId({ tenant_code: 'tenant-a', peid, task_id: taskId, attempt: gen, kind: 'undo' });
  const moved = await db
    .collection(COLLECTIONS.timers)
    .updateOne({ _id: id as never }, { $set: { due_at: past, sweep_at: past - 900_000 } });
  expect(moved.matchedCount).toBe(1);
  return id;
}

beforeAll(async () => {
  h = await createHarness();
  poller = h.poller({ maxConcurrency: 4 }).start();
  direct = await directDb();
  db = direct.db;
  await h.createPlaybook({
    name: 'diamond',
    tasks: [blockTask('a'), blockTask('b', ['a']), blockTask('c', ['a']), blockTask('d', ['b', 'c'])],
  });
  await h.createPlaybook({
    name: 'expiring',
    tasks: [blockTask('block', [], { undo_after_seconds: 86_400 })],
  });
});
afterAll(async () => {
  await h.close();
  await direct.close();
});
beforeEach(() => h.stub.reset());

describe('rollback', () => {
  it('undoes a diamond in reverse dependency order: d, then b and c, then a', async () => {
    const peid = await h.startRun('diamond', { ip: '203.0.113.7' });
    expect((await h.waitFinished(peid)).execution_status).toBe('completed');
    expect(Object.values(await undoStates(peid))).toEqual(['active', 'active', 'active', 'active']);
    const res = await rollback(peid);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ peid, execution_status: 'completed', attempt: 1, undos: 4 });
    await undosAre(peid, { a: 'undone', b: 'undone', c: 'undone', d: 'undone' });
    const order = undoCalls(peid);
    expect(order).toHaveLength(4);
    expect(order[0]).toBe('d');
    expect(order.slice(1, 3).sort()).toEqual(['b', 'c']);
    expect(order[3]).toBe('a');
    // The undo's templates saw the task's own output (the stub echoes the path it was called on).
    const aCall = h.stub.calls.find((c) => c.path.startsWith('/ok/undo/a/'));
    expect(aCall?.method).toBe('DELETE');
    expect(aCall?.path).toBe(`/ok/undo/a/${peid}/${encodeURIComponent('/ok/apply/a')}`);
    const e = await execution(peid);
    expect(e.rollback).toMatchObject({ attempt: 1, by: 'analyst-a' });
    expect(e.tasks.map((t) => [t.task_id, t.undo?.by, t.undo?.attempts, t.undo?.response_status])).toEqual([
      ['a', 'rollback', 1, 200],
      ['b', 'rollback', 1, 200],
      ['c', 'rollback', 1, 200],
      ['d', 'rollback', 1, 200],
    ]);
    const audit = await api('GET', '/audit', { token: h.tokenA, query: { action: 'run.rollback' } });
    const entries = (audit.body as { items: Array<Record<string, unknown>> }).items;
    expect(entries.filter((x) => x.target === `execution:${peid}`)).toMatchObject([
      { actor: 'analyst-a', details: { attempt: 1, previous_status: 'completed', undos: 4 } },
    ]);
  });

  it('a rollback repeated, and two at once, call each undo once and record one entry', async () => {
    const peid = await h.startRun('diamond', { ip: '203.0.113.8' });
    await h.waitFinished(peid);
    const [first, second] = await Promise.all([rollback(peid), rollback(peid)]);
    expect([first.status, second.status]).toEqual([202, 202]);
    await undosAre(peid, { a: 'undone', b: 'undone', c: 'undone', d: 'undone' });
    expect((await rollback(peid)).status).toBe(202);
    expect((await rollback(peid)).body).toMatchObject({ attempt: 1, undos: 0 });
    // Whatever was sent twice has been handled once the queue is empty.
    await drained();
    expect(undoCalls(peid).sort()).toEqual(['a', 'b', 'c', 'd']);
    const audit = await api('GET', '/audit', { token: h.tokenA, query: { action: 'run.rollback' } });
    const entries = (audit.body as { items: Array<{ target: string }> }).items;
    expect(entries.filter((x) => x.target === `execution:${peid}`)).toHaveLength(1);
  });

  it('cancels a running run first, and undoes a task that was still running when the rollback started', async () => {
    await h.createPlaybook({
      name: 'slow-block',
      tasks: [
        {
          ...blockTask('slow'),
          config: { method: 'POST', url: `${h.stub.url}/delay/1500/apply/slow` },
          undo: { method: 'DELETE', url: `${h.stub.url}/ok/undo/slow/{{ execution.peid }}` },
        },
        blockTask('after', ['slow']),
      ],
    });
    const peid = await h.startRun('slow-block');
    await eventually(
      'the slow block to be called',
      async () => h.stub.callsTo('/delay/1500/apply/slow').length,
      (n) => n === 1,
    );
    const res = await rollback(peid);
    expect(res.body).toMatchObject({ execution_status: 'cancelled', undos: 1 });
    await undosAre(peid, { slow: 'undone', after: null });
    const e = await execution(peid);
    expect(e.execution_status).toBe('cancelled');
    expect(e.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['slow', 'succeeded'],
      ['after', 'cancelled'],
    ]);
    expect(undoCalls(peid)).toEqual(['slow']);
    expect(h.stub.callsTo('/ok/apply/after')).toHaveLength(0);
    const cancels = await api('GET', '/audit', { token: h.tokenA, query: { action: 'run.cancel' } });
    expect((cancels.body as { items: Array<{ target: string }> }).items.map((x) => x.target)).toContain(
      `execution:${peid}`,
    );
  });

  it('an undo failing after its retries shows undo_failed, raises UndosFailed, and lists as in effect', async () => {
    const added = vi.spyOn(metrics, 'addMetric');
    await h.createPlaybook({
      name: 'stubborn',
      tasks: [
        {
          ...blockTask('fw'),
          retry: { max_attempts: 2, backoff_ms: 0, max_backoff_ms: 0 },
          undo: { method: 'DELETE', url: `${h.stub.url}/status/503/undo/fw` },
        },
      ],
    });
    const peid = await h.startRun('stubborn');
    await h.waitFinished(peid);
    expect((await rollback(peid)).status).toBe(202);
    await undosAre(peid, { fw: 'undo_failed' });
    expect(h.stub.callsTo('/status/503/undo/fw')).toHaveLength(2);
    const undo = (await execution(peid)).tasks[0]?.undo;
    expect(undo).toMatchObject({
      status: 'undo_failed',
      attempts: 2,
      response_status: 503,
      error: { code: 'HTTP_STATUS' },
    });
    expect(added.mock.calls.filter(([name]) => name === 'UndosFailed')).toHaveLength(1);
    expect(added.mock.calls.filter(([name]) => name === 'UndosRetried')).toHaveLength(1);
    added.mockRestore();
    const active = await containments({ active: 'true' });
    expect(active.items.find((c) => c.peid === peid)).toMatchObject({
      task_id: 'fw',
      playbook_name: 'stubborn',
      status: 'undo_failed',
    });
    // A rollback again does not run a failed undo twice.
    expect((await rollback(peid)).status).toBe(202);
    await drained();
    expect(h.stub.callsTo('/status/503/undo/fw')).toHaveLength(2);
  });
});

describe('expiry', () => {
  it('an expiring block is undone once by its timer, whatever the duplicated deliveries', async () => {
    const peid = await h.startRun('expiring');
    await h.waitFinished(peid);
    const before = (await execution(peid)).tasks[0]?.undo;
    expect(before).toMatchObject({ status: 'active', by: null });
    expect((before?.undo_at ?? 0) - (before?.applied_at ?? 0)).toBe(86_400_000);
    const id = await makeExpiryDue(peid, 'block');
    // The sweep sends it, twice at once, and its message is delivered twice more.
    await Promise.all([
      fireTimers(fireTimersDeps(), Date.now() + 20_000),
      fireTimers(fireTimersDeps(), Date.now() + 20_000),
    ]);
    const msg = timerMessage({ tenant_code: 'tenant-a', peid, task_id: 'block', attempt: 1, kind: 'undo' });
    await taskQueue().send([
      { message: msg, delaySeconds: 0 },
      { message: msg, delaySeconds: 0 },
    ]);
    await undosAre(peid, { block: 'undone' });
    await eventually(
      'the timer fired',
      async () => (await db.collection(COLLECTIONS.timers).findOne({ _id: id as never }))?.state,
      (s) => s === 'fired',
    );
    await drained();
    expect(undoCalls(peid)).toEqual(['block']);
    expect((await execution(peid)).tasks[0]?.undo).toMatchObject({ status: 'undone', by: 'expiry', attempts: 1 });
  });

  it('a timer message before the expiry changes nothing and leaves the timer armed', async () => {
    const peid = await h.startRun('expiring');
    await h.waitFinished(peid);
    const msg = timerMessage({ tenant_code: 'tenant-a', peid, task_id: 'block', attempt: 1, kind: 'undo' });
    await taskQueue().send([{ message: msg, delaySeconds: 0 }]);
    await drained();
    expect(await undoStates(peid)).toEqual({ block: 'active' });
    expect(undoCalls(peid)).toEqual([]);
    const id = timerId({ tenant_code: 'tenant-a', peid, task_id: 'block', attempt: 1, kind: 'undo' });
    expect((await db.collection(COLLECTIONS.timers).findOne({ _id: id as never }))?.state).toBe('pending');
  });

  it('a rollback racing the expiry calls the undo once', async () => {
    const peids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const peid = await h.startRun('expiring');
      peids.push(peid);
      await h.waitFinished(peid);
      await makeExpiryDue(peid, 'block');
      const msg = timerMessage({ tenant_code: 'tenant-a', peid, task_id: 'block', attempt: 1, kind: 'undo' });
      await Promise.all([
        rollback(peid),
        fireTimers(fireTimersDeps(), Date.now() + 20_000),
        taskQueue().send([{ message: msg, delaySeconds: 0 }]),
      ]);
      await undosAre(peid, { block: 'undone' });
    }
    await drained();
    expect(peids.map(undoCalls)).toEqual([['block'], ['block'], ['block']]);
    // Whoever won, the undo's trigger is recorded: the rollback's or the expiry's.
    for (const peid of peids) expect(['rollback', 'expiry']).toContain((await execution(peid)).tasks[0]?.undo?.by);
  });
});

describe('redrive after an undo', () => {
  it('runs the undone task again: active again with its new output; refused while the rollback has undos to run', async () => {
    await h.createPlaybook({
      name: 'block-then-fail',
      tasks: [
        blockTask('block'),
        {
          id: 'notify',
          type: 'http',
          depends_on: ['block'],
          config: { method: 'POST', url: `${h.stub.url}/flaky/notify-${Date.now()}/1` },
        },
      ],
    });
    const peid = await h.startRun('block-then-fail');
    expect((await h.waitFinished(peid)).execution_status).toBe('failed');
    // No consumer: the rollback's undos stay to run, and a redrive is refused meanwhile.
    await poller.stop();
    expect((await rollback(peid)).body).toMatchObject({ execution_status: 'failed', undos: 1 });
    const refused = await api('POST', `/executions/${peid}/redrive`, { token: h.tokenA });
    expect(refused.status).toBe(409);
    poller = h.poller({ maxConcurrency: 4 }).start();
    await undosAre(peid, { block: 'undone', notify: null });

    const redriven = await api('POST', `/executions/${peid}/redrive`, { token: h.tokenA });
    expect(redriven.body).toMatchObject({ attempt: 2 });
    expect((await h.waitFinished(peid)).execution_status).toBe('completed');
    const e = await execution(peid);
    expect(e.tasks[0]).toMatchObject({ task_id: 'block', status: 'succeeded' });
    expect(e.tasks[0]?.undo).toMatchObject({ status: 'active', by: null, attempts: 0 });
    expect(h.stub.callsTo('/ok/apply/block')).toHaveLength(2);
    const listed = (await containments({ active: 'true' })).items.filter((c) => c.peid === peid);
    expect(listed.map((c) => [c.task_id, c.status])).toEqual([['block', 'active']]);
    // Its new success is undone by a rollback of the new attempt.
    expect((await rollback(peid)).body).toMatchObject({ attempt: 2, undos: 1 });
    await undosAre(peid, { block: 'undone', notify: null });
    expect(undoCalls(peid)).toEqual(['block', 'block']);
  });
});

describe('test runs', () => {
  it('a mocked task has nothing to undo; a task the test run really ran is a containment like any other', async () => {
    const res = await api('POST', '/runplaybook', {
      token: h.tokenA,
      body: {
        playbook_name: 'diamond',
        alert_id: 'test-1',
        alert: {},
        mode: 'test',
        mocks: { a: { output: { body: { path: 'x' } } }, d: { output: null } },
      },
    });
    const peid = (res.body as { peid: string }).peid;
    expect((await h.waitFinished(peid)).execution_status).toBe('completed');
    expect(await undoStates(peid)).toEqual({ a: null, b: 'active', c: 'active', d: null });
    await rollback(peid);
    await undosAre(peid, { a: null, b: 'undone', c: 'undone', d: null });
    expect(undoCalls(peid).sort()).toEqual(['b', 'c']);
  });
});

describe('timeline', () => {
  it("an undone task's bar shows its undo; the legend explains it", async () => {
    const peid = await h.startRun('diamond');
    await h.waitFinished(peid);
    await rollback(peid);
    await undosAre(peid, { a: 'undone', b: 'undone', c: 'undone', d: 'undone' });
    const json = await api('GET', `/executions/${peid}/timeline`, { token: h.tokenA });
    const tasks = (json.body as { tasks: Array<{ task_id: string; undo?: { status: string; by: string } }> }).tasks;
    expect(tasks.map((t) => [t.task_id, t.undo?.status, t.undo?.by])).toEqual([
      ['a', 'undone', 'rollback'],
      ['b', 'undone', 'rollback'],
      ['c', 'undone', 'rollback'],
      ['d', 'undone', 'rollback'],
    ]);
    const svg = await api('GET', `/executions/${peid}/timeline`, { token: h.tokenA, query: { format: 'svg' } });
    const text = svg.body as string;
    expect(text.match(/class="undo undone"/g)).toHaveLength(4);
    expect(text).toContain('undone by rollback');
    expect(text).toContain('undone: the task&apos;s containment was reversed by its undo');
    expect(text).toContain('containment in effect (its undo not run yet)');
  });
});

describe('GET /containments', () => {
  it("lists the tenant's containments newest applied first, filtered by active, page by page", async () => {
    const all: Containment[] = [];
    for (let after: string | null | undefined; ; ) {
      const page = await containments({ limit: '3', ...(after ? { after } : {}) });
      all.push(...page.items);
      if (!page.next) break;
      after = page.next;
    }
    expect(all.length).toBeGreaterThan(6);
    const applied = all.map((c) => c.applied_at);
    expect([...applied].sort((x, y) => y - x)).toEqual(applied);
    expect(new Set(all.map((c) => `${c.peid}:${c.task_id}`)).size).toBe(all.length);
    const active = (await containments({ active: 'true', limit: '200' })).items;
    const undone = (await containments({ active: 'false', limit: '200' })).items;
    expect(active.every((c) => c.status !== 'undone')).toBe(true);
    expect(undone.every((c) => c.status === 'undone')).toBe(true);
    expect(active.length + undone.length).toBe(all.length);
  });

  it('bad parameters are a 400 naming the parameter', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ active: 'yes' }, 'active'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '201' }, 'limit'],
      [{ after: 'not-a-cursor' }, 'after'],
      [{ tenant_code: 'tenant-b' }, 'tenant_code'],
    ];
    for (const [query, field] of cases) {
      const res = await api('GET', '/containments', { token: h.tokenA, query });
      expect(res.status, JSON.stringify(query)).toBe(400);
      const details = (res.body as { error: { details: Array<{ path: string }> } }).error.details;
      expect(
        details.map((d) => d.path),
        JSON.stringify(query),
      ).toContain(field);
    }
  });
});

describe('tenant isolation', () => {
  it("another tenant's run cannot be rolled back (404, nothing undone) and its containments are never listed", async () => {
    const peid = await h.startRun('diamond');
    await h.waitFinished(peid);
    const res = await rollback(peid, h.tokenB);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    await drained();
    expect(undoCalls(peid)).toEqual([]);
    expect(Object.values(await undoStates(peid))).toEqual(['active', 'active', 'active', 'active']);
    expect((await containments({}, h.tokenB)).items).toEqual([]);
    const unknown = await rollback('00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    const bad = await api('POST', '/executions/not-a-uuid/rollback', { token: h.tokenA });
    expect(bad.status).toBe(400);
    const withBody = await api('POST', `/executions/${peid}/rollback`, { token: h.tokenA, body: { force: true } });
    expect(withBody.status).toBe(400);
  });
});

describe('playbooks with an undo: bad input is a 400 naming the field', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['undo_after_seconds below 60', { undo_after_seconds: 59 }, 'tasks[0].undo_after_seconds'],
    ['undo_after_seconds above a year', { undo_after_seconds: 31_536_001 }, 'tasks[0].undo_after_seconds'],
    ['undo without a url', { undo: { method: 'DELETE' } }, 'tasks[0].undo.url'],
    [
      'an unknown undo field',
      { undo: { method: 'DELETE', url: 'https://fw.example/x', when: 'now' } },
      'tasks[0].undo.when',
    ],
    [
      'a template that does not parse',
      { undo: { method: 'DELETE', url: 'https://fw.example/{{ tasks.( }}' } },
      'tasks[0].undo.url',
    ],
    [
      'a secret used indirectly',
      {
        undo: {
          method: 'DELETE',
          url: 'https://fw.example/x',
          headers: { authorization: '{{ $uppercase(secrets.FW) }}' },
        },
      },
      'tasks[0].undo.headers.authorization',
    ],
    ['undo_after_seconds without an undo', { undo: undefined, undo_after_seconds: 600 }, 'tasks[0].undo_after_seconds'],
  ];
  for (const [what, extra, path] of cases) {
    it(what, async () => {
      const task = { ...blockTask('x'), ...extra };
      const res = await api('POST', '/playbooks', { token: h.tokenA, body: { name: 'bad-undo', tasks: [task] } });
      expect(res.status).toBe(400);
      const details = (res.body as { error: { details: Array<{ path: string }> } }).error.details;
      expect(details.map((d) => d.path)).toContain(path);
    });
  }

  it('an undo on a task that is not http, or on a for_each task', async () => {
    const noop = { id: 'n', type: 'noop', undo: { method: 'DELETE', url: 'https://fw.example/x' } };
    const loop = { ...blockTask('l'), for_each: 'alert.ips' };
    for (const [task, path] of [
      [noop, 'tasks[0].undo'],
      [loop, 'tasks[0].undo'],
    ] as const) {
      const res = await api('POST', '/playbooks', { token: h.tokenA, body: { name: 'bad-undo', tasks: [task] } });
      expect(res.status).toBe(400);
      const details = (res.body as { error: { details: Array<{ path: string }> } }).error.details;
      expect(details.map((d) => d.path)).toContain(path);
    }
    // A secret used directly is fine, as in an http config.
    const ok = {
      ...blockTask('s'),
      undo: { method: 'DELETE', url: 'https://fw.example/x', headers: { authorization: '{{ secrets.FW }}' } },
    };
    expect(
      (await api('POST', '/playbooks', { token: h.tokenA, body: { name: 'good-undo', tasks: [ok] } })).status,
    ).toBe(201);
  });
});
