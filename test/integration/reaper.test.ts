/** The reaper re-enqueues lost work of stalled runs, fails runs past their maximum age, and leaves finished runs alone. */
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '../../lib/clients.js';
import { createHarness, type Harness } from '../support/harness.js';
import { lambdaContext } from '../support/lambda-context.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  await h.createPlaybook({
    name: 'two-step',
    tasks: [
      { id: 'first', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/reap/first` } },
      { id: 'second', type: 'noop', depends_on: ['first'] },
    ],
  });
});
afterAll(async () => h.close());

async function age(peid: string, byMs: number): Promise<void> {
  const db = getDb();
  const past = Date.now() - byMs;
  await db
    .collection('playbook_execution_collection')
    .updateOne({ _id: peid as never }, { $set: { updateddate: past } });
  await db.collection('task_execution_collection').updateMany({ peid }, { $set: { updateddate: past } });
}

async function reap(env: Record<string, string>) {
  Object.assign(process.env, env);
  const { handler } = await import('../../functions/reap-runs.js');
  return (await handler({} as never, lambdaContext('reapRuns'))) as {
    examined: number;
    requeued: number;
    timedOut: number;
  };
}

describe('reapRuns', () => {
  it('re-enqueues a queued task whose message was lost, and the run completes', async () => {
    const peid = await h.startRun('two-step');
    // The message is lost: nothing will ever deliver it.
    await h.sqs.send(new PurgeQueueCommand({ QueueUrl: process.env.TASK_QUEUE_URL }));
    await age(peid, 60_000);
    const finished = await h.startRun('two-step');
    const poller = h.poller().start();
    await h.waitFinished(finished);
    await poller.stop();
    expect((await h.execution(peid)).execution_status).toBe('running');

    const report = await reap({ REAP_STALE_AFTER_MS: '30000', RUN_MAX_AGE_MS: '3600000' });
    expect(report.examined).toBe(1);
    expect(report.requeued).toBe(1);

    const again = h.poller().start();
    const e = await h.waitFinished(peid);
    await again.stop();
    expect(e.execution_status).toBe('completed');
    expect(e.tasks.map((t) => [t.task_id, t.status, t.attempts])).toEqual([
      ['first', 'succeeded', 1],
      ['second', 'succeeded', 1],
    ]);
    // The finished run was never examined: its updateddate is recent, and it is not running.
    expect((await h.execution(finished)).execution_status).toBe('completed');
  });

  it('fails a stalled run older than the maximum age and cancels its tasks', async () => {
    const peid = await h.startRun('two-step');
    await h.sqs.send(new PurgeQueueCommand({ QueueUrl: process.env.TASK_QUEUE_URL }));
    await age(peid, 120_000);
    await getDb()
      .collection('playbook_execution_collection')
      .updateOne({ _id: peid as never }, { $set: { createddate: Date.now() - 7_200_000 } });
    const report = await reap({ REAP_STALE_AFTER_MS: '30000', RUN_MAX_AGE_MS: '3600000' });
    expect(report.timedOut).toBe(1);
    const e = await h.execution(peid);
    expect(e.execution_status).toBe('failed');
    expect(e.error?.code).toBe('RUN_TIMEOUT');
    expect(e.tasks.every((t) => t.status === 'cancelled')).toBe(true);
  });
});
