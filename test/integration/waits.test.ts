/**
 * Starting waits and ending them by timer, against MongoDB, SQS and the real consumer
 * (lib/engine/start-wait.ts, waits.ts): a claimed approval task starts waiting, notifies once
 * with its callback link (which then works), and a claimed long delay waits on a timer; a timer's
 * message applies the timeout or ends the delay once, then the real consumer completes the task.
 * What the batch pipeline will call is called here directly, on tasks a worker holds (their claim
 * written in the database, test/support/waits.ts); time is a virtual clock where it must pass.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegrationClient } from '../../lib/adapters/http/integration-client.js';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { createRunStore } from '../../lib/adapters/mongo/run-store.js';
import { getHttpAgents } from '../../lib/clients/http.js';
import { getDb } from '../../lib/clients/mongo.js';
import { timerId } from '../../lib/domain/timers.js';
import { fireTimers } from '../../lib/engine/fire-timers.js';
import type { TaskMessage, TaskRecord } from '../../lib/engine/model.js';
import { buildContext } from '../../lib/engine/run-task.js';
import { type StartWaitDeps, startApprovalWait, startDelayWait } from '../../lib/engine/start-wait.js';
import { timerMessage } from '../../lib/engine/timers.js';
import { handleTimerMessage } from '../../lib/engine/waits.js';
import { timerStore, waitDeps, waitStore } from '../../lib/wiring/approvals.js';
import { taskQueue } from '../../lib/wiring/runs.js';
import { directDb } from '../reliability/support/fixtures.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { approvalRun, delayRun } from '../support/waits.js';

const MIN = 60_000;
let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
let db: Db;

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  db = direct.db;
});
afterAll(async () => {
  await h.close();
  await direct.close();
});

function startDeps(now = Date.now()): StartWaitDeps {
  return {
    waits: waitStore(),
    timers: timerStore(),
    queue: taskQueue(),
    clock: () => now,
    newToken: () => `t-${Math.random()}`,
    policy: { graceMs: 5 * MIN, maxBackoffMs: 60 * MIN, maxSends: 6 },
    integrations: createIntegrationClient({
      agents: getHttpAgents(),
      maxResponseBytes: 1024 * 1024,
      allowPrivate: true,
      allowedHosts: [],
    }),
    baseUrl: 'http://127.0.0.1:3000',
  };
}

/** The claimed task and its run's template context, as the consumer holds them. */
async function claimed(peid: string, taskId: string, tenant_code = 'tenant-a') {
  const { executions, tasks } = await createRunStore(getDb()).loadRuns([{ tenant_code, peid }]);
  const exec = executions[0];
  const task = tasks.find((t) => t.task_id === taskId);
  if (!exec || !task) throw new Error('run not found');
  return { exec, task, ctx: buildContext(exec, tasks) };
}
const stored = async (peid: string, task: string) =>
  (await db.collection<TaskRecord>(COLLECTIONS.tasks).findOne({ peid, task_id: task })) as TaskRecord;
const far = () => Date.now() + 60_000;

async function receiveTimer(peid: string): Promise<TaskMessage | undefined> {
  for (let i = 0; i < 20; i++) {
    const res = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: process.env.TASK_QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const found = (res.Messages ?? []).find((m) => m.Body?.includes(peid) && m.Body.includes('"timer"'));
    if (found?.Body) return JSON.parse(found.Body) as TaskMessage;
  }
  return undefined;
}

describe('an approval starts waiting', () => {
  it('waits without a claim, notifies once with its callback link, and that link answers it', async () => {
    const run = await approvalRun({
      state: 'running',
      notify: {
        method: 'POST',
        url: `${h.stub.url}/ok/notify`,
        body: { text: '{{ approval.prompt }} {{ approval.callback_url }}', choices: '{{ approval.choices }}' },
      },
    });
    const { exec, task, ctx } = await claimed(run.peid, 'approve');
    const now = Date.now();
    const started = await startApprovalWait(
      startDeps(now),
      { task, claimToken: run.claimToken, playbookName: exec.playbook_name },
      ctx,
      far(),
    );
    expect(started).toEqual({ status: 'waiting', until: now + 3_600_000 });
    const waiting = await stored(run.peid, 'approve');
    expect(waiting).toMatchObject({
      status: 'waiting',
      claim: null,
      attempts: 1,
      wait: { kind: 'approval', since: now, until: now + 3_600_000 },
      approval: { prompt: 'Block 203.0.113.7?', choices: ['approve', 'reject'], answer: null, notify: { status: 200 } },
    });
    // Its timeout's timer is recorded (due beyond 900 s: the sweep will arm it).
    expect(await timerStore().get(timerId({ ...run, attempt: 1, kind: 'approval_timeout' }))).toMatchObject({
      state: 'pending',
      due_at: now + 3_600_000,
    });
    const calls = h.stub.callsTo('/ok/notify').filter((c) => JSON.stringify(c.body).includes('Block 203.0.113.7?'));
    expect(calls).toHaveLength(1);
    const body = calls[0]?.body as { text: string; choices: string[] };
    expect(body.choices).toEqual(['approve', 'reject']);
    const link = /http:\/\/127\.0\.0\.1:3000\/callbacks\/([A-Za-z0-9_-]{43})$/.exec(body.text);
    expect(link).not.toBeNull();
    const token = link?.[1] as string;
    // The token is nowhere in the database; its link opens the question and answers it.
    expect(JSON.stringify(await db.collection(COLLECTIONS.tasks).find({ peid: run.peid }).toArray())).not.toContain(
      token,
    );
    expect((await api('GET', `/callbacks/${token}`)).body).toContain('Block 203.0.113.7?');
    expect((await api('POST', `/callbacks/${token}`, { body: { choice: 'approve' } })).status).toBe(200);
    const p = h.poller().start();
    const done = await h.waitFinished(run.peid);
    await p.stop();
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['approve', 'succeeded'],
      ['block', 'succeeded'],
    ]);
  });

  it('a worker that lost its claim starts nothing; run_if false skips; a failing notify leaves it waiting without the token', async () => {
    const lost = await approvalRun({ state: 'running', notify: { method: 'POST', url: `${h.stub.url}/ok/lost` } });
    const l = await claimed(lost.peid, 'approve');
    const result = await startApprovalWait(
      startDeps(),
      { task: l.task, claimToken: 'not-the-holder', playbookName: 'approve-block' },
      l.ctx,
      far(),
    );
    expect(result).toEqual({ status: 'lost' });
    expect((await stored(lost.peid, 'approve')).status).toBe('running');
    expect(h.stub.callsTo('/ok/lost')).toEqual([]);

    const down = await approvalRun({
      state: 'running',
      notify: { method: 'POST', url: 'http://127.0.0.1:9/hook?link={{ approval.callback_url }}' },
    });
    const d = await claimed(down.peid, 'approve');
    const waited = await startApprovalWait(
      startDeps(),
      { task: d.task, claimToken: down.claimToken, playbookName: 'approve-block' },
      d.ctx,
      far(),
    );
    expect(waited.status).toBe('waiting');
    const task = await stored(down.peid, 'approve');
    expect(task.status).toBe('waiting');
    expect(task.approval?.notify).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    expect(JSON.stringify(task.approval?.notify)).not.toMatch(/callbacks\/[A-Za-z0-9_-]{43}/);

    const skip = await approvalRun({ state: 'running' });
    const s = await claimed(skip.peid, 'approve');
    const skippedTask = { ...s.task, def: { ...s.task.def, run_if: 'alert.src_ip = "10.0.0.1"' } };
    expect(
      await startApprovalWait(
        startDeps(),
        { task: skippedTask, claimToken: skip.claimToken, playbookName: 'approve-block' },
        s.ctx,
        far(),
      ),
    ).toMatchObject({ status: 'skipped' });
  });
});

describe("a timer's message in the consumer", () => {
  it('the timeout applies on_timeout once (by `timeout`); the consumer completes the task; later copies change nothing', async () => {
    const run = await approvalRun({ on_timeout: 'reject' });
    const message = timerMessage({ ...run, attempt: 1, kind: 'approval_timeout' });
    // Before its deadline: nothing happens, and the timer is left for the sweep.
    expect(await handleTimerMessage(waitDeps(), message)).toBe('early');
    expect((await stored(run.peid, 'approve')).status).toBe('waiting');
    const at = { ...waitDeps(), clock: () => run.until };
    expect(await handleTimerMessage(at, message)).toBe('applied');
    expect(await handleTimerMessage(at, message)).toBe('moot');
    expect((await stored(run.peid, 'approve')).approval?.answer).toEqual({
      choice: 'reject',
      by: 'timeout',
      comment: null,
      at: run.until,
    });
    expect((await api('GET', `/callbacks/${run.token}`)).status).toBe(404);
    const p = h.poller().start();
    const done = await h.waitFinished(run.peid);
    await p.stop();
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'approve')).toMatchObject({
      status: 'succeeded',
      output: { choice: 'reject', by: 'timeout' },
    });
    expect(done.tasks.find((t) => t.task_id === 'block')?.status).toBe('skipped');
  });

  it('on_timeout "fail": the task fails with APPROVAL_TIMEOUT and so does the run', async () => {
    const run = await approvalRun();
    const message = timerMessage({ ...run, attempt: 1, kind: 'approval_timeout' });
    expect(await handleTimerMessage({ ...waitDeps(), clock: () => run.until + 1 }, message)).toBe('applied');
    const p = h.poller().start();
    const done = await h.waitFinished(run.peid);
    await p.stop();
    expect(done.execution_status).toBe('failed');
    expect(done.tasks.find((t) => t.task_id === 'approve')).toMatchObject({
      status: 'failed',
      error: { code: 'APPROVAL_TIMEOUT' },
    });
  });

  it('a delay of 20 minutes waits on a timer, which a later sweep sends; its message ends the delay once', async () => {
    const run = await delayRun({ seconds: 1_200 });
    const { task, ctx } = await claimed(run.peid, 'wait');
    const t0 = Date.now();
    expect(await startDelayWait(startDeps(t0), { task, claimToken: run.claimToken }, ctx, far())).toEqual({
      status: 'waiting',
      until: t0 + 20 * MIN,
    });
    expect(await stored(run.peid, 'wait')).toMatchObject({
      status: 'waiting',
      claim: null,
      wait: { kind: 'delay', since: t0, until: t0 + 20 * MIN },
    });
    // The functions restart (new dependencies, nothing held in memory); 20 minutes later a sweep sends the timer.
    const later = () => t0 + 20 * MIN;
    const report = await fireTimers({ ...startDeps(later()), pageSize: 50 }, later() + MIN);
    expect(report.sent).toBeGreaterThanOrEqual(1);
    const message = await receiveTimer(run.peid);
    expect(message).toEqual({
      v: 1,
      tenant_code: 'tenant-a',
      peid: run.peid,
      task_id: 'wait',
      attempt: 1,
      timer: 'delay',
    });
    const deps = { ...waitDeps(), clock: later };
    expect(await handleTimerMessage(deps, message as TaskMessage)).toBe('applied');
    expect(await handleTimerMessage(deps, message as TaskMessage)).toBe('moot');
    expect((await timerStore().get(timerId({ ...run, task_id: 'wait', attempt: 1, kind: 'delay' })))?.state).toBe(
      'fired',
    );
    const p = h.poller().start();
    const done = await h.waitFinished(run.peid);
    await p.stop();
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'wait')).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      output: { waited_until: t0 + 20 * MIN },
    });
  });

  it('a delay until a templated time waits until it; a time in the past continues at once', async () => {
    const run = await delayRun({ until: '{{ alert.resume_at }}' });
    const { task, ctx } = await claimed(run.peid, 'wait');
    const now = Date.now();
    const started = await startDelayWait(startDeps(now), { task, claimToken: run.claimToken }, ctx, far());
    expect(started).toMatchObject({ status: 'waiting' });
    expect((started as { until: number }).until).toBeGreaterThan(now + 59 * MIN);
    const past = await delayRun({ until: '2001-01-01T00:00:00Z' });
    const p = await claimed(past.peid, 'wait');
    expect(await startDelayWait(startDeps(now), { task: p.task, claimToken: past.claimToken }, p.ctx, far())).toEqual({
      status: 'succeeded',
      output: { waited_until: now },
      error: null,
      retryable: false,
    });
    const bad = await delayRun({ until: '{{ "next tuesday" }}' });
    const b = await claimed(bad.peid, 'wait');
    expect(
      await startDelayWait(startDeps(now), { task: b.task, claimToken: bad.claimToken }, b.ctx, far()),
    ).toMatchObject({ status: 'failed', error: { code: 'DELAY_INVALID_TIME' } });
  });
});
