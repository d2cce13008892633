/**
 * Poison messages: a task message that crashes the real consumer on every delivery (here a
 * run whose stored task record is corrupt, pinned to a playbook version no cache holds, so the
 * consumer builds the run's graph from its task records) is received maxReceiveCount (5) times, then SQS
 * moves it to the DLQ. Until the dlqHandler consumes it the run hangs; the real dlqHandler
 * marks the task and the run failed (POISON_MESSAGE), cancels what had not started, and
 * leaves finished runs and garbage letters alone.
 */
import { SendMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { createHarness, type Harness } from '../support/harness.js';
import type { SqsHandler } from '../support/sqs-poller.js';
import { directDb, sleep, storedRun } from './support/fixtures.js';
import { queueDepth } from './support/queue.js';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
const queueUrl = () => process.env.TASK_QUEUE_URL ?? '';
const dlqUrl = () => process.env.DLQ_URL ?? '';

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  // This file's queue redelivers after 1 s instead of 5 s, so 5 receives take seconds.
  await h.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl(), Attributes: { VisibilityTimeout: '1' } }));
  await h.createPlaybook({
    name: 'poisoned',
    tasks: [
      { id: 'first', type: 'noop' },
      {
        id: 'second',
        type: 'http',
        depends_on: ['first'],
        config: { method: 'GET', url: `${h.stub.url}/ok/poison/second` },
      },
      { id: 'third', type: 'noop', depends_on: ['second'] },
    ],
  });
});
afterAll(async () => {
  await h.close();
  await direct.close();
});

/**
 * Corrupts a task record of `peid` and pins the run to a version no cache holds: the consumer takes
 * a run's graph from its pinned version's cache when it can, and from the run's task records only
 * on a miss (lib/adapters/cache/run-graphs.ts), so this is how a corrupt record reaches it.
 */
async function corrupt(peid: string, taskId: string, set: Record<string, unknown>, version: number): Promise<void> {
  await direct.db.collection(COLLECTIONS.tasks).updateOne({ peid, task_id: taskId }, { $set: set });
  await direct.db.collection(COLLECTIONS.executions).updateOne({ peid }, { $set: { playbook_version: version } });
}

async function dlqPoller() {
  const { handler } = await import('../../functions/dlq-handler.js');
  return h.poller({ queueUrl: dlqUrl(), handler: handler as unknown as SqsHandler, functionName: 'dlqHandler' });
}

describe('poison messages', () => {
  it('a message that always crashes the consumer reaches the DLQ after 5 receives; the dlqHandler fails its run', async () => {
    const peid = await h.startRun('poisoned');
    // Corrupt the stored record: deciding `first`'s dependents throws on it at every delivery.
    await corrupt(peid, 'first', { dependents: 42 }, 9_001);

    const consumer = h.poller({ batchSize: 1, maxConcurrency: 1 }).start();
    try {
      await consumer.until(
        async () => ((await queueDepth(h.sqs, dlqUrl())) === 1 ? true : undefined),
        60_000,
        'the DLQ',
      );
      expect(await queueDepth(h.sqs, queueUrl())).toBe(0);
    } finally {
      await consumer.stop();
    }
    // Each delivery crashes in the commit of the task's group, after its result is written (the first
    // deciding what follows it, the redeliveries re-driving that fan-in): the invocation returns,
    // reporting the message as a batch item failure (a handler error would fail the batch the same way).
    expect(consumer.stats.messagesFailed).toBe(5);
    expect(consumer.stats.handlerErrors).toBe(0);

    // Nothing else would ever touch this run: it hangs.
    await sleep(1_500);
    const hanging = await storedRun(direct.db, peid);
    expect(hanging.exec?.execution_status).toBe('running');

    const dlq = (await dlqPoller()).start();
    try {
      await h.waitFinished(peid, 30_000);
      // The handler's writes are done once its message is deleted.
      await dlq.until(
        async () => ((await queueDepth(h.sqs, dlqUrl())) === 0 ? true : undefined),
        10_000,
        'DLQ drained',
      );
      const e = await h.execution(peid);
      expect(e.execution_status).toBe('failed');
      expect(e.error?.code).toBe('POISON_MESSAGE');
      // `first` had finished (deciding what follows it was what crashed); nothing after it ever started.
      expect(Object.fromEntries(e.tasks.map((t) => [t.task_id, t.status]))).toEqual({
        first: 'succeeded',
        second: 'cancelled',
        third: 'cancelled',
      });
    } finally {
      await dlq.stop();
    }
    expect(h.stub.callsTo('/ok/poison/')).toHaveLength(0);
  });

  it('a poison task that never finished (claimed, then the consumer crashed) is itself marked failed', async () => {
    const peid = await h.startRun('poisoned');
    // No definition: the consumer claims the task, then crashes on it at every delivery.
    await corrupt(peid, 'first', { def: null }, 9_002);
    const consumer = h.poller({ batchSize: 1, maxConcurrency: 1 }).start();
    const dlq = (await dlqPoller()).start();
    try {
      await h.waitFinished(peid, 60_000);
      await dlq.until(
        async () => ((await queueDepth(h.sqs, dlqUrl())) === 0 ? true : undefined),
        10_000,
        'DLQ drained',
      );
      const e = await h.execution(peid);
      expect(e.execution_status).toBe('failed');
      expect(e.error?.code).toBe('POISON_MESSAGE');
      const byId = Object.fromEntries(e.tasks.map((t) => [t.task_id, t]));
      expect(byId.first).toMatchObject({ status: 'failed', error: { code: 'POISON_MESSAGE' } });
      expect(byId.second?.status).toBe('cancelled');
      expect(byId.third?.status).toBe('cancelled');
    } finally {
      await Promise.all([consumer.stop(), dlq.stop()]);
    }
    // Left for redelivery each time (the crashed commit, then the claim it still holds), never deleted.
    expect(consumer.stats.messagesFailed).toBeGreaterThan(0);
    expect(consumer.stats.messagesDeleted).toBe(0);
  });

  it('dead letters of finished runs and letters that are not task messages change nothing', async () => {
    const p = h.poller().start();
    const done = await h.startRun('poisoned');
    await h.waitFinished(done, 30_000);
    await p.stop();
    const before = await storedRun(direct.db, done);
    expect(before.exec?.execution_status).toBe('completed');

    for (const body of [
      JSON.stringify({ v: 1, tenant_code: 'tenant-a', peid: done, task_id: 'second', attempt: 1 }),
      'not json at all',
      JSON.stringify({
        v: 1,
        tenant_code: 'tenant-a',
        peid: '00000000-0000-4000-8000-000000000000',
        task_id: 'x',
        attempt: 1,
      }),
    ]) {
      await h.sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl(), MessageBody: body }));
    }
    const dlq = (await dlqPoller()).start();
    try {
      await dlq.until(
        async () => ((await queueDepth(h.sqs, dlqUrl())) === 0 ? true : undefined),
        20_000,
        'DLQ drained',
      );
    } finally {
      await dlq.stop();
    }
    expect(dlq.stats.handlerErrors).toBe(0);
    expect(await storedRun(direct.db, done)).toEqual(before);
  });
});
