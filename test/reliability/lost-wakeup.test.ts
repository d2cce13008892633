/**
 * Lost wake-ups of sub-playbook parents. A child run that ends sends a resume message for the
 * parent task waiting for it; every "state changed, then message" step must be repairable when
 * the message is lost: the redelivery of the child's last message rebuilds it, the reaper
 * re-sends the resume of a waiting task whose child has finished, a start that finds its child
 * already finished takes the child's outcome, and a retried cancel or dead-letter batch sends
 * the wake-up again. The queue port is wrapped so that exactly the wake-up send fails once.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { executeBatch } from '../../lib/engine/execute-batch.js';
import type { ExecutionRecord } from '../../lib/engine/model.js';
import type { TaskQueue } from '../../lib/engine/ports/task-queue.js';
import { ServiceUnavailableError } from '../../lib/errors.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { lambdaContext } from '../support/lambda-context.js';
import { directDb, runProblems, sleep, storedRun, waitRun } from './support/fixtures.js';
import { queueDepth } from './support/queue.js';

// A run without progress for 1 s is stale (deployed: 20 min).
process.env.REAP_STALE_AFTER_MS = '1000';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
const queueUrl = () => process.env.TASK_QUEUE_URL ?? '';

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  await h.createPlaybook({
    name: 'wake-child',
    tasks: [
      { id: 'lookup', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/{{ execution.peid }}/lookup` } },
      { id: 'verdict', type: 'transform', depends_on: ['lookup'], config: { expression: 'alert.ip' } },
    ],
  });
  await h.createPlaybook({
    name: 'wake-parent',
    tasks: [
      { id: 'sub', type: 'playbook', config: { name: 'wake-child', alert: { ip: '{{ alert.ip }}' } } },
      {
        id: 'after',
        type: 'http',
        depends_on: ['sub'],
        config: { method: 'POST', url: `${h.stub.url}/ok/{{ execution.peid }}/after`, body: '{{ tasks.sub.output }}' },
      },
    ],
  });
  // A child that waits on the queue before its integration call: long enough to act on it meanwhile.
  await h.createPlaybook({
    name: 'slow-child',
    tasks: [
      { id: 'wait', type: 'delay', config: { seconds: 3 } },
      {
        id: 'call',
        type: 'http',
        depends_on: ['wait'],
        config: { method: 'GET', url: `${h.stub.url}/ok/{{ execution.peid }}/call` },
      },
    ],
  });
  await h.createPlaybook({
    name: 'slow-parent',
    tasks: [{ id: 'sub', type: 'playbook', config: { name: 'slow-child' } }],
  });
});
afterAll(async () => {
  await h.close();
  await direct.close();
});
beforeEach(() => h.stub.reset());

async function reap(): Promise<Record<string, number>> {
  const { handler } = await import('../../functions/reap-runs.js');
  return (await handler({} as never, lambdaContext('reapRuns'))) as unknown as Record<string, number>;
}

/** A queue whose first `times` sends carrying a message for `target()` (peid, task) fail; the rest go through. */
async function failingOnce(target: () => { peid: string; task_id: string } | undefined, times = 1) {
  const real = (await import('../../lib/wiring/index.js')).taskQueue();
  const state = { failed: 0 };
  const queue: TaskQueue = {
    async send(messages) {
      const t = target();
      if (
        t &&
        state.failed < times &&
        messages.some((m) => m.message.peid === t.peid && m.message.task_id === t.task_id)
      ) {
        state.failed += 1;
        throw new ServiceUnavailableError('the task queue refused the message');
      }
      await real.send(messages);
    },
  };
  return { queue, state };
}

/**
 * The consumer with the given queue, reporting what the batch left for redelivery as the real
 * handler does; `swallow`: report success although the batch threw or left messages (they are lost).
 */
async function consumer(queue: TaskQueue, swallow: boolean) {
  const deps = (await import('../../lib/wiring/index.js')).executeBatchDeps();
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    let failed: string[] = [];
    try {
      const result = await executeBatch(
        { ...deps, queue },
        event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
        context.getRemainingTimeInMillis(),
      );
      failed = result.failedMessageIds;
    } catch (err) {
      if (!swallow) throw err;
    }
    return { batchItemFailures: swallow ? [] : failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

async function childOf(parentPeid: string): Promise<ExecutionRecord> {
  const end = Date.now() + 20_000;
  for (;;) {
    const child = await direct.db
      .collection<ExecutionRecord>(COLLECTIONS.executions)
      .findOne({ 'parent.peid': parentPeid }, { projection: { _id: 0 } });
    if (child) return child;
    if (Date.now() > end) throw new Error(`no child run of ${parentPeid}`);
    await sleep(50);
  }
}

/** True once the task waits for its child run (claim released, child recorded). */
async function waiting(peid: string, taskId: string): Promise<true | undefined> {
  const t = await direct.db.collection(COLLECTIONS.tasks).findOne({ peid, task_id: taskId });
  return t?.status === 'running' && t.claim === null && typeof t.child_peid === 'string' ? true : undefined;
}

describe('lost wake-ups of sub-playbook parents', () => {
  it('every resume send fails and the batches are lost: one reaper sweep completes the parent', async () => {
    let parentPeid: string | undefined;
    const target = () => (parentPeid ? { peid: parentPeid, task_id: 'sub' } : undefined);
    // Each send of the wake-up fails (also the repairs a redelivered message of the child tries),
    // and each batch is reported done anyway: no message is left that could rebuild it.
    const { queue, state } = await failingOnce(target, Number.POSITIVE_INFINITY);
    parentPeid = await h.startRun('wake-parent', { ip: '198.51.100.1' });
    const p = h.poller({ handler: await consumer(queue, true) }).start();
    const child = await childOf(parentPeid);
    try {
      await p.until(
        async () =>
          state.failed > 0 &&
          (await storedRun(direct.db, child.peid)).exec?.execution_status === 'completed' &&
          (await queueDepth(h.sqs, queueUrl())) === 0
            ? true
            : undefined,
        20_000,
        'the child to complete with its wake-up lost',
      );
    } finally {
      await p.stop();
    }
    expect((await storedRun(direct.db, child.peid)).exec?.execution_status).toBe('completed');
    // The parent waits for a wake-up that nobody will send.
    expect(await waiting(parentPeid, 'sub')).toBe(true);
    expect(await queueDepth(h.sqs, queueUrl())).toBe(0);

    await sleep(1_200);
    const report = await reap();
    expect(report.resumed).toBe(1);
    const normal = h.poller().start();
    try {
      const { exec, tasks } = await waitRun(direct.db, parentPeid, 20_000);
      expect(exec.execution_status).toBe('completed');
      expect(runProblems(exec, tasks)).toEqual([]);
    } finally {
      await normal.stop();
    }
    expect(h.stub.callsTo(`/ok/${child.peid}/lookup`)).toHaveLength(1);
    expect(h.stub.callsTo(`/ok/${parentPeid}/after`).map((c) => c.body)).toEqual(['198.51.100.1']);
  });

  it('the resume send fails once: the redelivered batch sends it again and the parent completes', async () => {
    let parentPeid: string | undefined;
    const { queue, state } = await failingOnce(() => (parentPeid ? { peid: parentPeid, task_id: 'sub' } : undefined));
    parentPeid = await h.startRun('wake-parent', { ip: '198.51.100.2' });
    const p = h.poller({ handler: await consumer(queue, false) }).start();
    try {
      const { exec } = await waitRun(direct.db, parentPeid, 30_000);
      expect(exec.execution_status).toBe('completed');
    } finally {
      await p.stop();
    }
    expect(state.failed).toBe(1);
    const child = await childOf(parentPeid);
    expect(h.stub.callsTo(`/ok/${child.peid}/lookup`)).toHaveLength(1);
    expect(h.stub.callsTo(`/ok/${parentPeid}/after`)).toHaveLength(1);
  });

  it("a start that finds its child already finished takes the child's outcome (the worker died before recording the wait)", async () => {
    const parentPeid = await h.startRun('wake-parent', { ip: '198.51.100.3' });
    const p = h.poller().start();
    try {
      expect((await waitRun(direct.db, parentPeid, 20_000)).exec.execution_status).toBe('completed');
    } finally {
      await p.stop();
    }
    const child = await childOf(parentPeid);
    // Back to the moment before: the worker that started the child died holding the claim
    // (never recorded the wait), the child finished, its resume found the task claimed and was dropped.
    const now = Date.now();
    await direct.db.collection(COLLECTIONS.executions).updateOne(
      { peid: parentPeid },
      {
        $set: {
          execution_status: 'running',
          open_tasks: ['sub', 'after'],
          completeddate: null,
          playbook_runtime: null,
          updateddate: now,
        },
      },
    );
    await direct.db.collection(COLLECTIONS.tasks).updateOne(
      { peid: parentPeid, task_id: 'sub' },
      {
        $set: {
          status: 'running',
          attempts: 1,
          claim: { token: 'dead-worker', until: now - 1 },
          output_json: null,
          finished_at: null,
          duration_ms: null,
        },
        $unset: { child_peid: '' },
      },
    );
    await direct.db.collection(COLLECTIONS.tasks).updateOne(
      { peid: parentPeid, task_id: 'after' },
      {
        $set: { status: 'pending', attempts: 0, output_json: null, started_at: null, finished_at: null },
      },
    );
    h.stub.reset();
    await sleep(1_200);
    // The reaper sends the dead worker's attempt again; its start finds the child finished.
    expect((await reap()).requeued).toBe(1);
    const again = h.poller().start();
    try {
      const { exec, tasks } = await waitRun(direct.db, parentPeid, 20_000);
      expect(exec.execution_status).toBe('completed');
      expect(runProblems(exec, tasks)).toEqual([]);
      expect(JSON.parse(tasks.find((t) => t.task_id === 'sub')?.output_json ?? 'null')).toBe('198.51.100.3');
    } finally {
      await again.stop();
    }
    // The child was not run again.
    expect(h.stub.callsTo(`/ok/${child.peid}/lookup`)).toHaveLength(0);
    expect(h.stub.callsTo(`/ok/${parentPeid}/after`)).toHaveLength(1);
  });

  it('a cancel whose wake-up send failed, retried, wakes the parent', async () => {
    const parentPeid = await h.startRun('slow-parent');
    const p = h.poller().start();
    try {
      const child = await childOf(parentPeid);
      await p.until(() => waiting(parentPeid, 'sub'), 20_000, 'the parent task to wait');
      const { cancelRun } = await import('../../lib/engine/runs.js');
      const { runStore } = await import('../../lib/wiring/index.js');
      const { queue, state } = await failingOnce(() => ({ peid: parentPeid, task_id: 'sub' }));
      const ref = { tenant_code: 'tenant-a', peid: child.peid };
      await expect(cancelRun(runStore(), ref, Date.now(), queue)).rejects.toThrow(ServiceUnavailableError);
      expect(state.failed).toBe(1);
      expect((await storedRun(direct.db, child.peid)).exec?.execution_status).toBe('cancelled');
      // The client retries the cancel: 202 again, and this time the parent hears of it.
      expect((await api('POST', `/executions/${child.peid}/cancel`, { token: h.tokenA })).status).toBe(202);
      const { exec, tasks } = await waitRun(direct.db, parentPeid, 15_000);
      expect(exec.execution_status).toBe('failed');
      expect(tasks[0]?.error?.code).toBe('SUBPLAYBOOK_FAILED');
      // The cancelled child's delayed step never calls its integration.
      await sleep(3_500);
      expect(h.stub.callsTo(`/ok/${child.peid}/call`)).toHaveLength(0);
    } finally {
      await p.stop();
    }
  });

  it('a dead-letter batch whose wake-up send failed, retried, wakes the parent', async () => {
    const parentPeid = await h.startRun('slow-parent');
    const p = h.poller().start();
    try {
      const child = await childOf(parentPeid);
      await p.until(() => waiting(parentPeid, 'sub'), 20_000, 'the parent task to wait');
      const { failDeadLetters } = await import('../../lib/engine/dead-letters.js');
      const { deadLetterDeps } = await import('../../lib/wiring/index.js');
      const { queue, state } = await failingOnce(() => ({ peid: parentPeid, task_id: 'sub' }));
      const letter = JSON.stringify({ v: 1, tenant_code: 'tenant-a', peid: child.peid, task_id: 'wait', attempt: 1 });
      await expect(failDeadLetters({ ...deadLetterDeps(), queue }, [letter])).rejects.toThrow(ServiceUnavailableError);
      expect(state.failed).toBe(1);
      expect((await storedRun(direct.db, child.peid)).exec?.execution_status).toBe('failed');
      // SQS hands the same dead letter to the handler again.
      await failDeadLetters(deadLetterDeps(), [letter]);
      const { exec, tasks } = await waitRun(direct.db, parentPeid, 15_000);
      expect(exec.execution_status).toBe('failed');
      expect(tasks[0]?.error?.code).toBe('SUBPLAYBOOK_FAILED');
    } finally {
      await p.stop();
    }
  });
});
