/**
 * The reapRuns scheduled function (real handler) against real losses: root messages lost
 * from the queue, a worker that died holding a claim whose message is gone, a consumer that
 * crashed between writing a result and deciding the dependents with its message lost, one that
 * crashed after its one write (results and the dependents it decided) before closing or sending — each
 * stalled run is unstuck (idempotently: repeated sweeps and duplicate messages call no
 * integration twice) and completes; a run past the maximum age is failed; finished runs
 * are never touched.
 */
import { PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { executeBatch } from '../../lib/engine/execute-batch.js';
import { createHarness, type Harness } from '../support/harness.js';
import { lambdaContext } from '../support/lambda-context.js';
import { directDb, runProblems, sleep, storedRun } from './support/fixtures.js';
import { queueDepth } from './support/queue.js';
import { callsOf, shapePlaybook } from './support/shapes.js';

// A run without progress for 1 s is stale (the minimum; deployed: 20 min).
process.env.REAP_STALE_AFTER_MS = '1000';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
const queueUrl = () => process.env.TASK_QUEUE_URL ?? '';

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  await h.createPlaybook(shapePlaybook('diamond', h.stub.url, 'reap'));
});
afterAll(async () => {
  await h.close();
  await direct.close();
});

interface Report {
  examined: number;
  requeued: number;
  decided: number;
  completed: number;
  timedOut: number;
}

async function reap(): Promise<Report> {
  const { handler } = await import('../../functions/reap-runs.js');
  return (await handler({} as never, lambdaContext('reapRuns'))) as Report;
}

async function loseEverything(): Promise<void> {
  await h.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl() }));
  // PurgeQueue is asynchronous in SQS: drain whatever is still visible.
  for (let i = 0; i < 5 && (await queueDepth(h.sqs, queueUrl())) > 0; i++) {
    await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl(), MaxNumberOfMessages: 10, VisibilityTimeout: 600 }),
    );
  }
}

async function expectCompletedOncePerAttempt(peids: string[]): Promise<void> {
  for (const peid of peids) {
    const { exec, tasks } = await storedRun(direct.db, peid);
    expect(exec?.execution_status, peid).toBe('completed');
    expect(runProblems(exec, tasks)).toEqual([]);
    for (const t of tasks)
      if (t.type === 'http') expect(callsOf(h.stub.calls, peid, t.task_id), t.task_id).toBe(t.attempts);
  }
}

describe('reapRuns', () => {
  it('re-enqueues queued tasks whose messages were lost; repeated sweeps and duplicates call nothing twice', async () => {
    const peids = await Promise.all(Array.from({ length: 4 }, (_, i) => h.startRun('reap-diamond', { score: i })));
    await loseEverything();
    await sleep(1_200);
    const first = await reap();
    expect(first.examined).toBeGreaterThanOrEqual(4);
    expect(first.requeued).toBeGreaterThanOrEqual(4);
    // A second sweep once they are stale again: every root is queued twice now.
    await sleep(1_200);
    const second = await reap();
    expect(second.requeued).toBeGreaterThanOrEqual(4);
    expect(await queueDepth(h.sqs, queueUrl())).toBeGreaterThanOrEqual(8);

    const p = h.poller().start();
    try {
      for (const peid of peids) await h.waitFinished(peid, 30_000);
    } finally {
      await p.stop();
    }
    await expectCompletedOncePerAttempt(peids);
  });

  it('takes over a task claimed by a worker that died, whose message is gone', async () => {
    const peid = await h.startRun('reap-diamond', { score: 7 });
    await loseEverything();
    // The dead worker's claim: running, attempt 1, lease expired.
    await direct.db.collection(COLLECTIONS.tasks).updateOne(
      { peid, task_id: 'a' },
      {
        $set: {
          status: 'running',
          attempts: 1,
          claim: { token: 'dead-worker', until: Date.now() - 1 },
          started_at: Date.now(),
        },
      },
    );
    await sleep(1_200);
    expect((await reap()).requeued).toBeGreaterThanOrEqual(1);
    const p = h.poller().start();
    try {
      await h.waitFinished(peid, 30_000);
    } finally {
      await p.stop();
    }
    await expectCompletedOncePerAttempt([peid]);
  });

  it('decides the dependents of a task whose worker crashed between its result and the fan-in, message lost', async () => {
    const deps = (await import('../../lib/wiring/index.js')).executeBatchDeps();
    let crashed = false;
    // The crash follows the write of `b`'s result: `a`'s batch wrote `a`, queued `b` and ran `c` inline in
    // one write, then closed them; `d` depends on `b` and on `c`, which ended in that other invocation.
    // `b`'s invocation reads the run before `c` is closed (the close of `a` and `c` waits for that read),
    // so its write cannot decide `d`: only the close of `b` does, and the crash comes first.
    let reads = 0;
    let bRead: () => void = () => {};
    const bHasRead = new Promise<void>((resolve) => {
      bRead = resolve;
    });
    const crashAfterWrite = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      const runs = {
        ...deps.runs,
        loadExecutions: async (...a: Parameters<typeof deps.runs.loadExecutions>) => {
          const read = await deps.runs.loadExecutions(...a);
          if (++reads === 2) bRead();
          return read;
        },
        closeTasks: async (...a: Parameters<typeof deps.runs.closeTasks>) => {
          if (a[1].some((e) => e.task_id === 'c')) await Promise.race([bHasRead, sleep(10_000)]);
          return deps.runs.closeTasks(...a);
        },
        writeTaskResults: async (...a: Parameters<typeof deps.runs.writeTaskResults>) => {
          const won = await deps.runs.writeTaskResults(...a);
          if (!a[0].some((w) => w.task_id === 'b' && w.status === 'succeeded')) return won;
          crashed = true;
          throw new Error('crash after the results write');
        },
      };
      await executeBatch(
        { ...deps, runs },
        event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
        context.getRemainingTimeInMillis(),
      );
      return { batchItemFailures: [] };
    };
    const peid = await h.startRun('reap-diamond', { score: 8 });
    const crashing = h.poller({ handler: crashAfterWrite, maxConcurrency: 2 }).start();
    try {
      await crashing.until(async () => (crashed ? true : undefined), 20_000, 'the crash');
    } finally {
      await crashing.stop();
    }
    await loseEverything();
    const stuck = await storedRun(direct.db, peid);
    expect(Object.fromEntries(stuck.tasks.map((t) => [t.task_id, t.status]))).toEqual({
      a: 'succeeded',
      b: 'succeeded',
      c: 'succeeded',
      d: 'pending',
    });
    expect(stuck.exec?.open_tasks.sort()).toEqual(['b', 'd']);
    await sleep(1_200);
    const report = await reap();
    expect(report.decided).toBe(1);
    const p = h.poller().start();
    try {
      await h.waitFinished(peid, 30_000);
    } finally {
      await p.stop();
    }
    await expectCompletedOncePerAttempt([peid]);
  });

  it('re-sends what a worker decided in its results write and closes what it ended, when it crashed before closing, message lost', async () => {
    const deps = (await import('../../lib/wiring/index.js')).executeBatchDeps();
    let crashed = false;
    const crashAfterFirstWrite = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      const runs = {
        ...deps.runs,
        writeTaskResults: async (...a: Parameters<typeof deps.runs.writeTaskResults>) => {
          const won = await deps.runs.writeTaskResults(...a);
          if (crashed) return won;
          crashed = true;
          throw new Error('crash after the results write');
        },
      };
      await executeBatch(
        { ...deps, runs },
        event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
        context.getRemainingTimeInMillis(),
      );
      return { batchItemFailures: [] };
    };
    const peid = await h.startRun('reap-diamond', { score: 11 });
    const crashing = h.poller({ handler: crashAfterFirstWrite, maxConcurrency: 1 }).start();
    try {
      await crashing.until(async () => (crashed ? true : undefined), 20_000, 'the crash');
    } finally {
      await crashing.stop();
    }
    await loseEverything();
    // The one write ended `a`, queued `b` and ran `c` inline (both depend on `a` alone); nothing closed or sent.
    const stuck = await storedRun(direct.db, peid);
    expect(Object.fromEntries(stuck.tasks.map((t) => [t.task_id, t.status]))).toEqual({
      a: 'succeeded',
      b: 'queued',
      c: 'succeeded',
      d: 'pending',
    });
    expect(stuck.exec?.open_tasks.sort()).toEqual(['a', 'b', 'c', 'd']);
    await sleep(1_200);
    const report = await reap();
    expect(report.requeued).toBe(1);
    expect(report.decided).toBe(0);
    expect((await storedRun(direct.db, peid)).exec?.open_tasks.sort()).toEqual(['b', 'd']);
    const p = h.poller().start();
    try {
      await h.waitFinished(peid, 30_000);
    } finally {
      await p.stop();
    }
    await expectCompletedOncePerAttempt([peid]);
  });

  it('fails a run past the maximum age and cancels what it had not started', async () => {
    const peid = await h.startRun('reap-diamond', { score: 9 });
    await loseEverything();
    const old = Date.now() - 25 * 3_600_000;
    await direct.db
      .collection(COLLECTIONS.executions)
      .updateOne({ peid }, { $set: { createddate: old, updateddate: old } });
    const report = await reap();
    expect(report.timedOut).toBe(1);
    const { exec, tasks } = await storedRun(direct.db, peid);
    expect(exec?.execution_status).toBe('failed');
    expect(exec?.error?.code).toBe('RUN_TIMEOUT');
    expect(tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(runProblems(exec, tasks)).toEqual([]);
  });

  it('never touches finished runs, however old', async () => {
    await h.createPlaybook({
      name: 'reap-fails',
      tasks: [{ id: 'x', type: 'http', config: { method: 'GET', url: `${h.stub.url}/status/404` } }],
    });
    const p = h.poller().start();
    const completed = await h.startRun('reap-diamond', { score: 1 });
    const failed = await h.startRun('reap-fails');
    await h.waitFinished(completed, 30_000);
    await h.waitFinished(failed, 30_000);
    await p.stop();
    const cancelled = await h.startRun('reap-diamond', { score: 2 });
    await h.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl() }));
    const { api } = await import('../support/api.js');
    expect((await api('POST', `/executions/${cancelled}/cancel`, { token: h.tokenA })).status).toBe(202);

    const old = Date.now() - 48 * 3_600_000;
    const finished = [completed, failed, cancelled];
    await direct.db
      .collection(COLLECTIONS.executions)
      .updateMany({ peid: { $in: finished } }, { $set: { createddate: old, updateddate: old } });
    await direct.db
      .collection(COLLECTIONS.tasks)
      .updateMany({ peid: { $in: finished } }, { $set: { updateddate: old } });
    const before = await Promise.all(finished.map((peid) => storedRun(direct.db, peid)));
    expect(before.map((r) => r.exec?.execution_status)).toEqual(['completed', 'failed', 'cancelled']);
    await reap();
    await reap();
    expect(await Promise.all(finished.map((peid) => storedRun(direct.db, peid)))).toEqual(before);
  });
});
