/**
 * Delays too long for the queue, through the whole service: the consumer starts their wait on a
 * durable timer and lets go of them; the consumer is replaced (nothing of the wait lives in a
 * function); the scheduled sweep sends the timer's message when it is due, and the new consumer
 * ends the delay once. Time passes for the engine on a virtual clock (the sweep's and the new
 * consumer's run 20 minutes ahead); MongoDB and SQS are the real local servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timerId } from '../../lib/domain/timers.js';
import { fireTimers } from '../../lib/engine/fire-timers.js';
import { timerMessage } from '../../lib/engine/timers.js';
import { fireTimersDeps, timerStore } from '../../lib/wiring/approvals.js';
import { consumerAhead, deliverAt, waitForTask } from '../support/approval-runs.js';
import { createHarness, type Harness } from '../support/harness.js';

const MIN = 60_000;
let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  const delayed = (name: string, config: Record<string, unknown>) => ({
    name,
    tasks: [
      { id: 'wait', type: 'delay', config },
      { id: 'go', type: 'http', depends_on: ['wait'], config: { method: 'POST', url: `${h.stub.url}/ok/${name}` } },
    ],
  });
  await h.createPlaybook(delayed('twenty-minutes', { seconds: 1_200 }));
  await h.createPlaybook(delayed('until-alert', { until: '{{ alert.resume_at }}' }));
});
afterAll(async () => {
  await h.close();
});

const sweepAt = (at: number) => fireTimers({ ...fireTimersDeps(), clock: () => at }, at + MIN);

describe('a delay of 20 minutes', () => {
  it('waits on a timer holding no worker, and fires once after the consumer is replaced', async () => {
    const first = h.poller().start();
    const peid = await h.startRun('twenty-minutes');
    const { run, task } = await waitForTask(h, peid, 'wait', 'waiting');
    await first.stop();
    expect(run.execution_status).toBe('running');
    const since = task.wait?.since as number;
    expect(task.wait).toEqual({ kind: 'delay', since, until: since + 20 * MIN, ended_at: null });
    const id = timerId({ tenant_code: 'tenant-a', peid, task_id: 'wait', attempt: 1, kind: 'delay' });
    // Beyond SQS's 900 s: recorded, not sent; the sweep arms it once 15 minutes from due.
    expect(await timerStore().get(id)).toMatchObject({ state: 'pending', sends: 0, due_at: since + 20 * MIN });
    expect((await sweepAt(since + 4 * MIN)).sent).toBe(0);
    expect(await timerStore().get(id)).toMatchObject({ state: 'pending', sends: 0 });

    // 20 minutes later, on a new consumer: the sweep sends the message (due: no delay left), which
    // ends the wait; the task's next attempt succeeds and the run goes on.
    const later = since + 20 * MIN;
    const second = h.poller({ handler: consumerAhead(later - Date.now() + 1_000) }).start();
    expect(await sweepAt(later)).toMatchObject({ due: 1, sent: 1 });
    const done = await h.waitFinished(peid);
    await second.stop();
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'wait')).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      output: { waited_until: since + 20 * MIN },
    });
    expect(h.stub.callsTo('/ok/twenty-minutes')).toHaveLength(1);
    expect(await timerStore().get(id)).toMatchObject({ state: 'fired', sends: 1 });

    // Fired once: another sweep sends nothing, a copy of the message changes nothing.
    expect((await sweepAt(later + 10 * MIN)).sent).toBe(0);
    const copy = timerMessage({ tenant_code: 'tenant-a', peid, task_id: 'wait', attempt: 1, kind: 'delay' });
    expect(await deliverAt(copy, later + 11 * MIN)).toEqual([]);
    const after = await h.execution(peid);
    expect(after.tasks.find((t) => t.task_id === 'wait')?.attempts).toBe(2);
    expect(h.stub.callsTo('/ok/twenty-minutes')).toHaveLength(1);
  });
});

describe('a delay until a time', () => {
  it('waits until the alert says; a time already past continues at once', async () => {
    const p = h.poller().start();
    const resume = Date.now() + 3 * 24 * 60 * MIN;
    const waiting = await h.startRun('until-alert', { resume_at: new Date(resume).toISOString() });
    const { task } = await waitForTask(h, waiting, 'wait', 'waiting');
    expect(task.wait).toMatchObject({ kind: 'delay', until: resume, ended_at: null });
    const past = await h.startRun('until-alert', { resume_at: '2001-01-01T00:00:00Z' });
    const done = await h.waitFinished(past);
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'wait')).toMatchObject({ status: 'succeeded', attempts: 1 });
    const bad = await h.startRun('until-alert', { resume_at: 'next tuesday' });
    const failed = await h.waitFinished(bad);
    expect(failed.tasks.find((t) => t.task_id === 'wait')).toMatchObject({
      status: 'failed',
      error: { code: 'DELAY_INVALID_TIME' },
    });
    await p.stop();
  });
});
