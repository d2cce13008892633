/**
 * Durable timers against MongoDB and SQS (lib/engine/timers.ts, fire-timers.ts): recorded before
 * anything is sent, armed by the sweep once within SQS's 900 s (with the rest of the wait as the
 * message's delay), sent once by overlapping sweeps, sent again after the grace when no effect
 * came (a bounded number of times), given back when a send fails, cancelled with their run.
 * Time is a virtual clock passed to the use cases; SQS and MongoDB are the real local servers
 * (every send is recorded on its way to the real queue).
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timerId } from '../../lib/domain/timers.js';
import { type FireTimersDeps, fireTimers } from '../../lib/engine/fire-timers.js';
import type { OutgoingTaskMessage, TaskQueue } from '../../lib/engine/ports/task-queue.js';
import {
  armTimer,
  cancelRunTimers,
  completeTimer,
  sendTimers,
  type TimerSpec,
  timerMessage,
} from '../../lib/engine/timers.js';
import { timerStore } from '../../lib/wiring/approvals.js';
import { taskQueue } from '../../lib/wiring/runs.js';
import { createHarness, type Harness } from '../support/harness.js';

const MIN = 60_000;
const GRACE = 5 * MIN;
let h: Harness;
const sent: OutgoingTaskMessage[] = [];
/** The real queue, every send recorded. */
const recording: TaskQueue = {
  async send(messages) {
    sent.push(...messages);
    await taskQueue().send(messages);
  },
};

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

let n = 0;
function deps(now: number, queue: TaskQueue = recording): FireTimersDeps {
  return {
    timers: timerStore(),
    queue,
    clock: () => now,
    newToken: () => `sweep-${++n}`,
    policy: { graceMs: GRACE, maxBackoffMs: 60 * MIN, maxSends: 4 },
    pageSize: 7,
  };
}
const far = (now: number) => now + 10 * 365 * 24 * 60 * MIN;
const spec = (peid: string, due_at: number, over: Partial<TimerSpec> = {}): TimerSpec => ({
  tenant_code: 'tenant-a',
  peid,
  task_id: 'approve',
  attempt: 1,
  kind: 'approval_timeout',
  due_at,
  ...over,
});
const sentFor = (peid: string) => sent.filter((m) => m.message.peid === peid);

async function receiveFor(peid: string, atLeast: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < 40 && bodies.length < atLeast; i++) {
    const res = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: process.env.TASK_QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of res.Messages ?? []) if (m.Body?.includes(peid)) bodies.push(m.Body);
  }
  return bodies;
}

describe('durable timers', () => {
  it('a timer due in 20 minutes: recorded, armed 5 minutes later with 900 s (once for two sweeps), re-sent after its grace', async () => {
    const t0 = Date.now();
    const peid = `t-${t0}-20min`;
    const timer = await armTimer(deps(t0), spec(peid, t0 + 20 * MIN));
    expect(timer).toMatchObject({ state: 'pending', sends: 0, sweep_at: t0 + 5 * MIN });
    expect(sentFor(peid)).toEqual([]);
    await fireTimers(deps(t0 + 4 * MIN), far(t0));
    expect(sentFor(peid)).toEqual([]);
    // Two sweeps 5 minutes (and a second) later, both having read the timer before either claimed it:
    // one send, delayed by the rest of the wait.
    const at = t0 + 5 * MIN + 1_000;
    const [readA, readB] = await Promise.all([timerStore().due(at, 100), timerStore().due(at, 100)]);
    const mineA = (readA ?? []).filter((t) => t.peid === peid);
    const mineB = (readB ?? []).filter((t) => t.peid === peid);
    expect([mineA.length, mineB.length]).toEqual([1, 1]);
    const [a, b] = await Promise.all([sendTimers(deps(at), mineA, at), sendTimers(deps(at), mineB, at)]);
    expect([a.sent + b.sent, a.lost + b.lost]).toEqual([1, 1]);
    await Promise.all([fireTimers(deps(at), far(t0)), fireTimers(deps(at), far(t0))]);
    expect(sentFor(peid)).toEqual([
      {
        message: { v: 1, tenant_code: 'tenant-a', peid, task_id: 'approve', attempt: 1, timer: 'approval_timeout' },
        delaySeconds: 899,
      },
    ]);
    // Due, within its grace: nothing more. After it, with no effect recorded: sent again, at once.
    await fireTimers(deps(t0 + 20 * MIN + GRACE - 1), far(t0));
    expect(sentFor(peid)).toHaveLength(1);
    await fireTimers(deps(t0 + 20 * MIN + GRACE), far(t0));
    expect(sentFor(peid).map((m) => m.delaySeconds)).toEqual([899, 0]);
    const bodies = await receiveFor(peid, 1);
    expect(bodies.map((b) => JSON.parse(b))).toEqual([
      expect.objectContaining({ peid, timer: 'approval_timeout', attempt: 1 }),
    ]);
    // The consumer completes it: no sweep sends it again.
    expect(await completeTimer(timerStore(), timerMessage(spec(peid, 0)), t0 + 21 * MIN)).toBe(true);
    await fireTimers(deps(far(t0)), far(far(t0)));
    expect(sentFor(peid)).toHaveLength(2);
    expect((await timerStore().get(timerId(spec(peid, 0))))?.state).toBe('fired');
  });

  it('a timer due within 900 s is sent at once, its delay the rest of the wait; it arrives marked as a timer', async () => {
    const now = Date.now();
    const peid = `t-${now}-soon`;
    const timer = await armTimer(deps(now), spec(peid, now + 2_000, { kind: 'delay', task_id: 'wait' }));
    expect(timer?.state).toBe('pending');
    expect(sentFor(peid)).toEqual([expect.objectContaining({ delaySeconds: 2 })]);
    expect((await timerStore().get(timerId(spec(peid, 0, { kind: 'delay', task_id: 'wait' }))))?.state).toBe('armed');
    const bodies = await receiveFor(peid, 1);
    expect(JSON.parse(bodies[0] as string)).toEqual({
      v: 1,
      tenant_code: 'tenant-a',
      peid,
      task_id: 'wait',
      attempt: 1,
      timer: 'delay',
    });
    // Arming it again (a retried wait start) sends nothing more.
    await armTimer(deps(now), spec(peid, now + 2_000, { kind: 'delay', task_id: 'wait' }));
    expect(sentFor(peid)).toHaveLength(1);
  });

  it('a sweep that died between its claim and its send: sent again after the grace; at most maxSends times, then abandoned', async () => {
    const t0 = Date.now();
    const peid = `t-${t0}-crash`;
    await armTimer(deps(t0), spec(peid, t0 + 30 * MIN));
    const id = timerId(spec(peid, 0));
    // The claim of a sweep that then died (nothing sent).
    const before = await timerStore().get(id);
    const won = await timerStore().claim(
      [
        {
          id,
          seen: { state: 'pending', sends: 0, sweep_at: before?.sweep_at ?? null },
          next_sweep_at: t0 + 30 * MIN + GRACE,
        },
      ],
      'dead-sweep',
      t0 + 16 * MIN,
    );
    expect([...won]).toEqual([id]);
    await fireTimers(deps(t0 + 30 * MIN), far(t0));
    expect(sentFor(peid)).toEqual([]);
    // Sent again after each grace (doubling), until 4 sends in all; then abandoned and never sent again.
    let at = t0 + 30 * MIN + GRACE;
    for (let i = 0; i < 6; i++) {
      await fireTimers(deps(at), far(t0));
      at += GRACE * 2 ** (i + 1);
    }
    expect(sentFor(peid)).toHaveLength(3);
    const t = await timerStore().get(id);
    expect(t).toMatchObject({ state: 'abandoned', sends: 4, sweep_at: null });
    await fireTimers(deps(far(at)), far(far(at)));
    expect(sentFor(peid)).toHaveLength(3);
  });

  it('a send that fails is given back: the next sweep sends it', async () => {
    const t0 = Date.now();
    const peid = `t-${t0}-sqs-down`;
    const down: TaskQueue = {
      send: async () => {
        throw new Error('SQS unavailable');
      },
    };
    await armTimer(deps(t0, down), spec(peid, t0 + 60 * MIN));
    const failed = await fireTimers(deps(t0 + 50 * MIN, down), far(t0));
    expect(failed).toMatchObject({ sent: 0, failed: 1 });
    expect(await timerStore().get(timerId(spec(peid, 0)))).toMatchObject({ state: 'pending', sends: 0 });
    const ok = await fireTimers(deps(t0 + 51 * MIN), far(t0));
    expect(ok.sent).toBeGreaterThanOrEqual(1);
    expect(sentFor(peid)).toEqual([expect.objectContaining({ delaySeconds: 540 })]);
  });

  it("cancelling a run cancels its open timers in one update; no sweep sends them; another run's are untouched", async () => {
    const t0 = Date.now();
    const [x, y] = [`t-${t0}-cancel-x`, `t-${t0}-cancel-y`];
    await armTimer(deps(t0), spec(x, t0 + 30 * MIN));
    await armTimer(deps(t0), spec(x, t0 + 40 * MIN, { task_id: 'other', kind: 'delay' }));
    await armTimer(deps(t0), spec(x, t0 + 50 * MIN, { attempt: 2 }));
    await armTimer(deps(t0), spec(y, t0 + 30 * MIN));
    expect(await cancelRunTimers(timerStore(), { tenant_code: 'tenant-a', peid: x }, t0)).toBe(3);
    expect(await cancelRunTimers(timerStore(), { tenant_code: 'tenant-b', peid: y }, t0)).toBe(0);
    await fireTimers(deps(t0 + 60 * MIN), far(t0));
    expect(sentFor(x)).toEqual([]);
    expect(sentFor(y)).toHaveLength(1);
    expect(await completeTimer(timerStore(), timerMessage(spec(x, 0)), t0)).toBe(false);
  });

  it('a done timer armed again (its task waits again at that attempt after a redrive) starts over; an armed one is kept', async () => {
    const t0 = Date.now();
    const peid = `t-${t0}-again`;
    await armTimer(deps(t0), spec(peid, t0 + 10 * MIN));
    expect(sentFor(peid)).toHaveLength(1);
    // Armed: arming it again (a retried wait start) keeps it as it is.
    await armTimer(deps(t0), spec(peid, t0 + 12 * MIN));
    expect(await timerStore().get(timerId(spec(peid, 0)))).toMatchObject({
      state: 'armed',
      due_at: t0 + 10 * MIN,
      sends: 1,
    });
    expect(await cancelRunTimers(timerStore(), { tenant_code: 'tenant-a', peid }, t0)).toBe(1);
    // The run is redriven: the task waits again at attempt 1, with a new deadline.
    await armTimer(deps(t0 + 60 * MIN), spec(peid, t0 + 70 * MIN));
    expect(await timerStore().get(timerId(spec(peid, 0)))).toMatchObject({
      state: 'armed',
      due_at: t0 + 70 * MIN,
      sends: 1,
    });
    expect(sentFor(peid).map((m) => m.delaySeconds)).toEqual([600, 600]);
  });

  it('many due timers over several pages and tenants: each sent exactly once', async () => {
    const t0 = Date.now();
    const peid = (i: number) => `t-${t0}-many-${i}`;
    for (let i = 0; i < 25; i++) {
      await armTimer(
        deps(t0),
        spec(peid(i), t0 + 20 * MIN + i * 1_000, { tenant_code: i % 2 ? 'tenant-a' : 'tenant-b' }),
      );
    }
    const report = await fireTimers(deps(t0 + 19 * MIN), far(t0));
    expect(report.sent).toBeGreaterThanOrEqual(25);
    for (let i = 0; i < 25; i++) expect(sentFor(peid(i)), peid(i)).toHaveLength(1);
    await fireTimers(deps(t0 + 19 * MIN), far(t0));
    for (let i = 0; i < 25; i++) expect(sentFor(peid(i))).toHaveLength(1);
  });
});
