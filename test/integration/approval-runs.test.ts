/**
 * Approvals through the whole service: runs started with the API reach their approval task on
 * the real consumer (the batch pipeline starts the wait and sends the notify to the stub), are
 * answered by JWT or by the callback link read from that notification, time out, are cancelled
 * or redriven, race, and stay within their tenant; bad input is refused with a 4xx, never a 5xx.
 * Time passes for the engine only where a deadline must: the timer's message is handed to the
 * consumer with its clock at the deadline (the sweep's own path is in durable-delays.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timerId } from '../../lib/domain/timers.js';
import { timerMessage } from '../../lib/engine/timers.js';
import { timerStore, waitStore } from '../../lib/wiring/approvals.js';
import { mintToken } from '../../scripts/lib/token.js';
import { api } from '../support/api.js';
import { approvalPlaybook, deliverAt, notificationsOf, tokenOf, waitForTask } from '../support/approval-runs.js';
import { TEST_JWT_SECRET } from '../support/endpoints.js';
import { createHarness, type Harness } from '../support/harness.js';
import { seededRandom } from '../support/random.js';

let h: Harness;
let tokenA2: string;
const ALERT = { src_ip: '203.0.113.7' };

beforeAll(async () => {
  h = await createHarness();
  tokenA2 = await mintToken(TEST_JWT_SECRET, { tenant: 'tenant-a', sub: 'analyst-a2' });
  await h.createPlaybook(approvalPlaybook('approve-block', h.stub.url));
  await h.createPlaybook(approvalPlaybook('approve-or-fail', h.stub.url, { on_timeout: 'fail' }));
  await h.createPlaybook(approvalPlaybook('approve-block', h.stub.url), h.tokenB);
  h.poller().start();
});
afterAll(async () => {
  await h.close();
});

const respond = (peid: string, body: unknown, token = h.tokenA, task = 'approve') =>
  api('POST', `/executions/${peid}/tasks/${task}/respond`, { token, body });
const timerOf = (peid: string, tenant_code = 'tenant-a') =>
  timerStore().get(timerId({ tenant_code, peid, task_id: 'approve', attempt: 1, kind: 'approval_timeout' }));
/** A run of `name` taken by the consumer to its waiting approval; its id, token and deadline. */
async function waitingRun(name = 'approve-block', token = h.tokenA) {
  const peid = await h.startRun(name, ALERT, token);
  const { task } = await waitForTask(h, peid, 'approve', 'waiting', token);
  return { peid, token: await tokenOf(h, peid), until: task.wait?.until as number };
}

describe('the life of an approval', () => {
  it('by JWT: the run waits without a worker, notifies once, and the answer takes it to the end', async () => {
    const peid = await h.startRun('approve-block', ALERT);
    const { run, task } = await waitForTask(h, peid, 'approve', 'waiting');
    expect(run.execution_status).toBe('running');
    expect(task).toMatchObject({ attempts: 1, output: null, wait: { kind: 'approval', ended_at: null } });
    expect((task.wait?.until ?? 0) - (task.wait?.since ?? 0)).toBe(3_600_000);
    expect(run.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['score', 'succeeded'],
      ['approve', 'waiting'],
      ['block', 'pending'],
    ]);
    // Notified once, with the rendered prompt and the link; the timeout's timer is recorded.
    const token = await tokenOf(h, peid);
    const sent = notificationsOf(h, peid);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.text).toMatch(/^Block 203\.0\.113\.7\? score 95 \/callbacks\/[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(run)).not.toContain(token);
    expect(await timerOf(peid)).toMatchObject({ state: 'pending', due_at: task.wait?.until });
    const listed = await api('GET', '/approvals', { token: h.tokenA, query: { status: 'waiting' } });
    expect((listed.body as { items: unknown[] }).items).toContainEqual({
      peid,
      task_id: 'approve',
      playbook_name: 'approve-block',
      prompt: 'Block 203.0.113.7? score 95',
      choices: ['approve', 'reject'],
      approvers: ['analyst-a', 'analyst-a2'],
      expires_at: task.wait?.until,
      created_at: task.wait?.since,
    });

    const answered = await respond(peid, { choice: 'approve', comment: 'confirmed C2' });
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    const done = await h.waitFinished(peid);
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'approve')).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      output: { choice: 'approve', by: 'analyst-a', comment: 'confirmed C2', at: expect.any(Number) },
    });
    expect(done.tasks.find((t) => t.task_id === 'block')?.status).toBe('succeeded');
    expect(h.stub.callsTo('/ok/block').filter((c) => JSON.stringify(c.body).includes('203.0.113.7'))).not.toEqual([]);
    // Notified once in all; the timeout's timer is done (answered first); the link is spent.
    expect(notificationsOf(h, peid)).toHaveLength(1);
    expect(await timerOf(peid)).toMatchObject({ state: 'fired' });
    expect((await api('GET', `/callbacks/${token}`)).status).toBe(404);

    // The timeline shows the wait as waiting, not as engine overhead.
    const tl = (await api('GET', `/executions/${peid}/timeline`, { token: h.tokenA })).body as {
      run_ms: number;
      critical_path: string[];
      critical_path_task_ms: number;
      critical_path_wait_ms: number;
      engine_overhead_ms: number;
      tasks: Array<{ task_id: string; wait: { since: number; ended_at: number; ms: number } | null }>;
    };
    const wait = tl.tasks.find((t) => t.task_id === 'approve')?.wait;
    expect(wait?.ms).toBe((wait?.ended_at ?? 0) - (wait?.since ?? 0));
    expect(tl.critical_path).toEqual(['score', 'approve', 'block']);
    expect(tl.critical_path_wait_ms).toBe(wait?.ms);
    expect(tl.engine_overhead_ms).toBe(tl.run_ms - tl.critical_path_task_ms - tl.critical_path_wait_ms);
  });

  it('by callback: the link from the notification opens the page, the form answers, the run goes on', async () => {
    const { peid, token } = await waitingRun();
    const page = await api('GET', `/callbacks/${token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Block 203.0.113.7? score 95');
    const posted = await api('POST', `/callbacks/${token}`, {
      rawBody: new URLSearchParams({ choice: 'reject', comment: 'customer NAT' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(posted.status).toBe(200);
    expect(posted.body).toContain('<dd>reject</dd>');
    const done = await h.waitFinished(peid);
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'approve')?.output).toMatchObject({
      choice: 'reject',
      by: 'callback',
      comment: 'customer NAT',
    });
    expect(done.tasks.find((t) => t.task_id === 'block')?.status).toBe('skipped');
    // The token is single-use: the page, a second post and a JWT answer are refused.
    expect((await api('GET', `/callbacks/${token}`)).status).toBe(404);
    expect((await api('POST', `/callbacks/${token}`, { body: { choice: 'approve' } })).status).toBe(404);
    expect((await respond(peid, { choice: 'approve' })).status).toBe(409);
  });

  it('a test run with the approval mocked asks nobody and records its mocked answer', async () => {
    const res = await api('POST', '/runplaybook', {
      token: h.tokenA,
      body: {
        playbook_name: 'approve-block',
        alert_id: 'mocked',
        alert: ALERT,
        mode: 'test',
        mocks: { approve: { output: { choice: 'approve', by: 'mock' } }, block: { output: { blocked: true } } },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const peid = (res.body as { peid: string }).peid;
    const done = await h.waitFinished(peid);
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'approve')).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      output: { choice: 'approve', by: 'mock' },
      mocked: true,
    });
    expect(notificationsOf(h, peid)).toEqual([]);
    expect(await timerOf(peid)).toBeNull();
  });
});

describe('an approval per item of a loop', () => {
  it('each item asks its own question; the loop finishes once every item is answered', async () => {
    await h.createPlaybook({
      name: 'approve-each',
      tasks: [
        {
          id: 'approve',
          type: 'approval',
          for_each: 'alert.ips',
          config: {
            prompt: 'Block {{ item }}?',
            notify: {
              method: 'POST',
              url: `${h.stub.url}/ok/notify`,
              body: { text: '{{ approval.prompt }}', peid: '{{ execution.peid }}' },
            },
          },
        },
      ],
    });
    const peid = await h.startRun('approve-each', { ips: ['198.51.100.1', '198.51.100.2'] });
    const list = async () =>
      (
        (await api('GET', '/approvals', { token: h.tokenA })).body as {
          items: Array<{ peid: string; task_id: string; prompt: string }>;
        }
      ).items.filter((i) => i.peid === peid);
    for (let i = 0; i < 200 && (await list()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await list()).map((i) => [i.task_id, i.prompt]).sort()).toEqual([
      ['approve[0]', 'Block 198.51.100.1?'],
      ['approve[1]', 'Block 198.51.100.2?'],
    ]);
    expect((await respond(peid, { choice: 'approve' }, h.tokenA, 'approve[1]')).status).toBe(200);
    expect((await respond(peid, { choice: 'reject' }, h.tokenA, 'approve[0]')).status).toBe(200);
    const done = await h.waitFinished(peid);
    expect(done.execution_status).toBe('completed');
    expect(done.tasks[0]?.output).toEqual([
      expect.objectContaining({ choice: 'reject', by: 'analyst-a' }),
      expect.objectContaining({ choice: 'approve', by: 'analyst-a' }),
    ]);
  });
});

describe('the timeout', () => {
  it('applies on_timeout (by `timeout`) when its message reaches the consumer at the deadline', async () => {
    const { peid, token, until } = await waitingRun();
    // Before the deadline the message changes nothing (and is acknowledged).
    const message = timerMessage({
      tenant_code: 'tenant-a',
      peid,
      task_id: 'approve',
      attempt: 1,
      kind: 'approval_timeout',
    });
    expect(await deliverAt(message, until - 1)).toEqual([]);
    expect((await h.execution(peid)).tasks.find((t) => t.task_id === 'approve')?.status).toBe('waiting');
    expect(await deliverAt(message, until)).toEqual([]);
    const done = await h.waitFinished(peid);
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'approve')).toMatchObject({
      status: 'succeeded',
      output: { choice: 'reject', by: 'timeout', comment: null, at: until },
    });
    expect(done.tasks.find((t) => t.task_id === 'block')?.status).toBe('skipped');
    expect(await timerOf(peid)).toMatchObject({ state: 'fired' });
    expect((await api('GET', `/callbacks/${token}`)).status).toBe(404);
    expect((await respond(peid, { choice: 'approve' })).status).toBe(409);
    // A copy of the message later changes nothing.
    expect(await deliverAt(message, until + 1)).toEqual([]);
    expect((await h.execution(peid)).tasks.find((t) => t.task_id === 'approve')?.attempts).toBe(2);
  });

  it('on_timeout "fail" fails the task with APPROVAL_TIMEOUT and the run; a redrive asks again', async () => {
    const first = await waitingRun('approve-or-fail');
    const message = timerMessage({
      tenant_code: 'tenant-a',
      peid: first.peid,
      task_id: 'approve',
      attempt: 1,
      kind: 'approval_timeout',
    });
    await deliverAt(message, first.until + 5);
    const failed = await h.waitFinished(first.peid);
    expect(failed).toMatchObject({ execution_status: 'failed', error: { code: 'TASK_FAILED' } });
    expect(failed.tasks.find((t) => t.task_id === 'approve')).toMatchObject({
      status: 'failed',
      error: { code: 'APPROVAL_TIMEOUT' },
    });
    expect(failed.tasks.find((t) => t.task_id === 'block')?.status).toBe('cancelled');

    // Redriven: the approval waits again, with a new question, token and deadline, notified again.
    const redriven = await api('POST', `/executions/${first.peid}/redrive`, { token: h.tokenA });
    expect(redriven.status, JSON.stringify(redriven.body)).toBe(202);
    const again = await waitForTask(h, first.peid, 'approve', 'waiting');
    expect(again.task.attempts).toBe(1);
    expect(again.task.wait?.since).toBeGreaterThan(first.until - 3_600_000);
    // The notify follows the wait's start: wait for it.
    for (let i = 0; i < 200 && notificationsOf(h, first.peid).length < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    const sent = notificationsOf(h, first.peid);
    expect(sent).toHaveLength(2);
    const second = /\/callbacks\/([A-Za-z0-9_-]{43})$/.exec(sent[1]?.text ?? '')?.[1] as string;
    expect(second).not.toBe(first.token);
    expect((await api('GET', `/callbacks/${first.token}`)).status).toBe(404);
    expect((await api('POST', `/callbacks/${second}`, { body: { choice: 'approve' } })).status).toBe(200);
    const done = await h.waitFinished(first.peid);
    expect(done).toMatchObject({ execution_status: 'completed' });
    expect(done.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['score', 'succeeded'],
      ['approve', 'succeeded'],
      ['block', 'succeeded'],
    ]);
  });
});

describe('cancelling a waiting run', () => {
  it('cancels the waiting task, its timer and its token; the question leaves the list', async () => {
    const { peid, token } = await waitingRun();
    const cancelled = await api('POST', `/executions/${peid}/cancel`, { token: h.tokenA });
    expect(cancelled.status).toBe(202);
    const run = await h.execution(peid);
    expect(run.execution_status).toBe('cancelled');
    expect(run.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['score', 'succeeded'],
      ['approve', 'cancelled'],
      ['block', 'cancelled'],
    ]);
    expect(await timerOf(peid)).toMatchObject({ state: 'cancelled' });
    expect((await api('GET', `/callbacks/${token}`)).status).toBe(404);
    expect((await api('POST', `/callbacks/${token}`, { body: { choice: 'approve' } })).status).toBe(404);
    expect((await respond(peid, { choice: 'approve' })).status).toBe(409);
    const list = await api('GET', '/approvals', { token: h.tokenA });
    expect((list.body as { items: Array<{ peid: string }> }).items.map((i) => i.peid)).not.toContain(peid);
  });
});

describe('an approval in a sub-playbook', () => {
  it("waits in the child run; cancelling the parent cancels the child's question, timer and token", async () => {
    await h.createPlaybook({
      name: 'ask-in-child',
      tasks: [{ id: 'child', type: 'playbook', config: { name: 'approve-block' } }],
    });
    const parent = await h.startRun('ask-in-child', ALERT);
    const asked = async () =>
      ((await api('GET', '/approvals', { token: h.tokenA })).body as { items: Array<{ peid: string }> }).items;
    const before = new Set((await asked()).map((i) => i.peid));
    let child: string | undefined;
    for (let i = 0; i < 200 && !child; i++) {
      child = (await asked()).map((q) => q.peid).find((p) => !before.has(p) && notificationsOf(h, p).length > 0);
      if (!child) await new Promise((r) => setTimeout(r, 50));
    }
    expect(child).toBeDefined();
    const token = await tokenOf(h, child as string);
    expect((await h.execution(parent)).tasks[0]?.status).toBe('running');
    expect((await api('POST', `/executions/${parent}/cancel`, { token: h.tokenA })).status).toBe(202);
    const stopped = await h.waitFinished(child as string);
    expect(stopped).toMatchObject({ execution_status: 'cancelled', error: { code: 'PARENT_ENDED' } });
    expect(stopped.tasks.find((t) => t.task_id === 'approve')?.status).toBe('cancelled');
    expect(await timerOf(child as string)).toMatchObject({ state: 'cancelled' });
    expect((await api('GET', `/callbacks/${token}`)).status).toBe(404);
  });
});

describe('exactly one answer wins', () => {
  it('two analysts, a callback, the timeout and a cancellation at once, on runs the pipeline took to waiting', async () => {
    const outcomes: string[] = [];
    const random = seededRandom(17);
    for (let round = 0; round < 8; round++) {
      const { peid, token, until } = await waitingRun();
      const message = timerMessage({
        tenant_code: 'tenant-a',
        peid,
        task_id: 'approve',
        attempt: 1,
        kind: 'approval_timeout',
      });
      // Each contender starts within a few ms of the others, in an order that changes per round
      // (seeded), so that each of them gets to be first at times; all are eligible at once.
      const start = <T>(fn: () => Promise<T>) => new Promise((r) => setTimeout(r, Math.floor(random() * 6))).then(fn);
      const contenders = [
        start(() => respond(peid, { choice: 'approve' })).then((r) => ['analyst-a', r.status] as const),
        start(() => respond(peid, { choice: 'reject' }, tokenA2)).then((r) => ['analyst-a2', r.status] as const),
        start(() => api('POST', `/callbacks/${token}`, { body: { choice: 'approve' } })).then(
          (r) => ['callback', r.status] as const,
        ),
        start(() => deliverAt(message, until)).then(() => ['timeout', 0] as const),
        start(() => api('POST', `/executions/${peid}/cancel`, { token: h.tokenA })).then(
          (r) => ['cancel', r.status] as const,
        ),
      ];
      const results = await Promise.all(contenders);
      // A cancel lets an attempt already claimed (the winning answer being applied) finish on its
      // own: the run's tasks are read once every one of them has ended.
      const final = await settled(peid);
      const approve = final.tasks.find((t) => t.task_id === 'approve');
      const answers = results.filter(([who, status]) => who !== 'cancel' && who !== 'timeout' && status === 200);
      // At most one of the analysts and the callback got a 200; every other one its 409/404.
      expect(answers.length, JSON.stringify(results)).toBeLessThanOrEqual(1);
      for (const [who, status] of results.filter(([w]) => w !== 'cancel' && w !== 'timeout')) {
        if (status !== 200) expect(status, who).toBe(who === 'callback' ? 404 : 409);
      }
      const recorded = await answeredBy(peid);
      if (answers.length === 1) expect(recorded).toBe(answers[0]?.[0]);
      else expect([undefined, 'timeout']).toContain(recorded);
      // The cancel ends the run, unless an answer won and the run completed before it came (409).
      const cancel = results.find(([who]) => who === 'cancel')?.[1];
      if (cancel === 202) {
        expect(final.execution_status).toBe('cancelled');
        expect(['cancelled', 'succeeded']).toContain(approve?.status);
      } else {
        expect(cancel).toBe(409);
        expect(recorded).toBeDefined();
        expect(final.execution_status).toBe('completed');
      }
      if (recorded === undefined) expect(approve?.status).toBe('cancelled');
      outcomes.push(recorded ?? 'cancel');
    }
    console.info(`race winners: ${outcomes.join(', ')}`);
  });
});

/** The run once it has ended and each of its tasks has (a claimed attempt finishes after a cancel). */
async function settled(peid: string) {
  const end = Date.now() + 30_000;
  for (;;) {
    const e = await h.waitFinished(peid);
    if (e.tasks.every((t) => ['succeeded', 'failed', 'skipped', 'cancelled'].includes(t.status))) return e;
    if (Date.now() > end) throw new Error(`run ${peid} ended with tasks still open: ${JSON.stringify(e.tasks)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Who answered the run's approval, as recorded on the task (undefined: nobody). */
async function answeredBy(peid: string): Promise<string | undefined> {
  const task = await waitStore().getTask({ tenant_code: 'tenant-a', peid, task_id: 'approve' });
  return task?.approval?.answer?.by;
}

describe('tenants', () => {
  it("a tenant cannot answer, list, open or cancel another tenant's approval", async () => {
    const mine = await waitingRun();
    const theirs = await waitingRun('approve-block', h.tokenB);
    for (const [peid, token] of [
      [mine.peid, h.tokenB],
      [theirs.peid, h.tokenA],
    ] as const) {
      const res = await respond(peid, { choice: 'approve' }, token);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
      expect((await api('POST', `/executions/${peid}/cancel`, { token })).status).toBe(404);
    }
    const listOf = async (token: string) =>
      ((await api('GET', '/approvals', { token })).body as { items: Array<{ peid: string }> }).items.map((i) => i.peid);
    expect(await listOf(h.tokenA)).toContain(mine.peid);
    expect(await listOf(h.tokenA)).not.toContain(theirs.peid);
    expect(await listOf(h.tokenB)).toEqual([theirs.peid]);
    // A callback answers the question of its own token only, whatever the tenant (the token is the credential).
    expect((await api('POST', `/callbacks/${theirs.token}`, { body: { choice: 'reject' } })).status).toBe(200);
    expect((await waitForTask(h, mine.peid, 'approve', 'waiting')).task.status).toBe('waiting');
    const b = await waitForTask(h, theirs.peid, 'approve', 'succeeded', h.tokenB);
    expect(b.task.output).toMatchObject({ choice: 'reject', by: 'callback' });
  });
});

describe('bad input', () => {
  it('saving an approval: approvers not a list of strings, timeout out of range, bad choices: 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ approvers: 'analyst-a' }, 'tasks[1].config.approvers'],
      [{ approvers: ['analyst-a', 7] }, 'tasks[1].config.approvers[1]'],
      [{ approvers: [] }, 'tasks[1].config.approvers'],
      [{ timeout_seconds: 59 }, 'tasks[1].config.timeout_seconds'],
      [{ timeout_seconds: 2_592_001 }, 'tasks[1].config.timeout_seconds'],
      [{ timeout_seconds: 'soon' }, 'tasks[1].config.timeout_seconds'],
      [{ choices: [] }, 'tasks[1].config.choices'],
      [{ choices: ['yes', 'yes'] }, 'tasks[1].config.choices[1]'],
      [{ on_timeout: 'maybe' }, 'tasks[1].config.on_timeout'],
      [{ prompt: '{{ ( }}' }, 'tasks[1].config.prompt'],
    ];
    for (const [config, path] of cases) {
      const res = await api('POST', '/playbooks', {
        token: h.tokenA,
        body: approvalPlaybook('bad-approval', h.stub.url, config),
      });
      expect(res.status, JSON.stringify(config)).toBe(400);
      expect(res.body, JSON.stringify(config)).toMatchObject({
        error: { code: 'VALIDATION_FAILED', details: expect.arrayContaining([expect.objectContaining({ path })]) },
      });
    }
  });

  it('answering: a choice not offered 400, a task not waiting 409, a spent token 404; nothing answers 5xx', async () => {
    const { peid, token } = await waitingRun();
    const bad = await respond(peid, { choice: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: [{ path: 'choice' }] } });
    expect((await respond(peid, { choice: 'approve' }, h.tokenA, 'block')).status).toBe(409);
    expect((await respond(peid, { choice: 'approve' }, h.tokenA, 'score')).status).toBe(409);
    expect((await respond(peid, { choice: 'approve' })).status).toBe(200);
    expect((await respond(peid, { choice: 'approve' })).status).toBe(409);
    expect((await api('POST', `/callbacks/${token}`, { body: { choice: 'approve' } })).status).toBe(404);
    await h.waitFinished(peid);
    const odd = [
      respond(peid, 'not an object'),
      respond(peid, { choice: 'approve', comment: 5 }),
      respond(peid, { choice: ['approve'] }),
      api('POST', `/executions/${peid}/tasks/${'x'.repeat(300)}/respond`, { token: h.tokenA, body: { choice: 'a' } }),
      api('POST', '/callbacks/%2e%2e', { body: { choice: 'approve' } }),
      api('GET', '/approvals', { token: h.tokenA, query: { limit: '-1' } }),
    ];
    for (const res of await Promise.all(odd)) expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
  });
});
