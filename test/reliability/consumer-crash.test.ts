/**
 * A consumer that dies after writing results but before its messages are deleted.
 *
 * (a) In process: executeBatch with a run store / queue that performs the real call and
 *     then throws (as if the function died right after it). The poller then reports the
 *     crashed commit group's messages failed, SQS redelivers them after the visibility timeout
 *     (5 s), and the redelivery finds the written results and completes the run: fan-in
 *     re-driven, unsent dependents re-sent, ends closed again. No integration is called again.
 * (b) A worker process SIGKILLed by PID while a task's integration call is in flight,
 *     after it claimed tasks and wrote the results of an earlier batch; a fresh worker
 *     process takes the killed attempt over when its lease runs out and completes the run.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { type ExecuteBatchDeps, executeBatch } from '../../lib/engine/execute-batch.js';
import type { RunStore } from '../../lib/engine/ports/run-store.js';
import type { TaskQueue } from '../../lib/engine/ports/task-queue.js';
import { createHarness, type Harness, statuses } from '../support/harness.js';
import { stopChild } from '../support/toxiproxy.js';
import { directDb, mapLimit, runProblems, storedRun, waitNoRunning } from './support/fixtures.js';
import { waitQueueEmpty } from './support/queue.js';
import { callsOf, shapePlaybook } from './support/shapes.js';
import { startWorker } from './support/worker-process.js';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
let baseDeps: ExecuteBatchDeps;

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  await h.createPlaybook(shapePlaybook('diamond', h.stub.url, 'crash'));
  await h.createPlaybook(shapePlaybook('any_join', h.stub.url, 'crash'));
  baseDeps = (await import('../../lib/wiring/index.js')).executeBatchDeps();
});
afterAll(async () => {
  await h.close();
  await direct.close();
});
beforeEach(() => h.stub.reset());

type CrashPoint = 'writeTaskResults' | 'transitionPending' | 'closeTasks' | 'send';

/** Whether the invocation in progress may crash (set per invocation by handlerWith). */
const invocation = new AsyncLocalStorage<{ mayCrash: boolean }>();

/**
 * Deps whose `points` do the real work and then throw (as if the function died right after),
 * on the non-empty calls `shouldCrash` picks (counted per point): in invocations that may crash,
 * or, for a keyed point (transitionPending), on a call with a key it has not seen before.
 */
function crashingDeps(
  points: CrashPoint[],
  shouldCrash: (call: number, point: CrashPoint) => boolean,
): { deps: ExecuteBatchDeps; crashes: Map<CrashPoint, number> } {
  const calls = new Map<CrashPoint, number>();
  const crashes = new Map<CrashPoint, number>();
  // A keyed point may crash in any invocation (a redelivery's too) on a call with a key it has not
  // seen: at most one crash per key, so a message cannot keep crashing into the DLQ.
  const seen = new Set<string>();
  const firstSight = (point: CrashPoint, keys: string[]): boolean => {
    const fresh = keys.filter((k) => !seen.has(`${point}/${k}`));
    for (const k of fresh) seen.add(`${point}/${k}`);
    return fresh.length > 0;
  };
  const after = async <T>(
    point: CrashPoint,
    real: () => Promise<T>,
    nonEmpty: boolean,
    keys: string[] = [],
  ): Promise<T> => {
    const result = await real();
    if (!nonEmpty || !points.includes(point)) return result;
    const eligible = keys.length > 0 ? firstSight(point, keys) : invocation.getStore()?.mayCrash;
    if (!eligible) return result;
    const n = (calls.get(point) ?? 0) + 1;
    calls.set(point, n);
    if (shouldCrash(n, point)) {
      crashes.set(point, (crashes.get(point) ?? 0) + 1);
      throw new Error(`injected crash after ${point}`);
    }
    return result;
  };
  const real = baseDeps;
  const runs: RunStore = {
    ...real.runs,
    writeTaskResults: (w, t, n) => after('writeTaskResults', () => real.runs.writeTaskResults(w, t, n), w.length > 0),
    transitionPending: (tr, t, n) =>
      after(
        'transitionPending',
        () => real.runs.transitionPending(tr, t, n),
        tr.length > 0,
        tr.map((x) => `${x.peid}/${x.task_id}`),
      ),
    closeTasks: (r, ends, n, c) => after('closeTasks', () => real.runs.closeTasks(r, ends, n, c), true),
  };
  const queue: TaskQueue = { send: (m) => after('send', () => real.queue.send(m), m.length > 0) };
  return { deps: { ...real, runs, queue }, crashes };
}

/**
 * A handler like functions/execute-task.ts around executeBatch with the given deps. Only
 * batches of first deliveries may crash: a message that kept crashing would (rightly) end
 * in the DLQ after 5 receives, which is the poison-message test's subject, not this one's.
 */
function handlerWith(deps: ExecuteBatchDeps) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const mayCrash = event.Records.every((r) => r.attributes.ApproximateReceiveCount === '1');
    const result = await invocation.run({ mayCrash }, () =>
      executeBatch(
        deps,
        event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
        context.getRemainingTimeInMillis(),
      ),
    );
    return { batchItemFailures: result.failedMessageIds.map((id) => ({ itemIdentifier: id })) };
  };
}

async function expectCalledOncePerAttempt(peid: string): Promise<void> {
  const { exec, tasks } = await storedRun(direct.db, peid);
  expect(runProblems(exec, tasks)).toEqual([]);
  for (const t of tasks) {
    if (t.type !== 'http') continue;
    expect(callsOf(h.stub.calls, peid, t.task_id), `calls of ${t.task_id}`).toBe(
      t.status === 'skipped' ? 0 : t.attempts,
    );
  }
}

describe('a consumer that dies after writing (in process)', () => {
  it('crash right after the results bulkWrite: the redelivery re-drives the fan-in without calling `a` again', async () => {
    const { deps, crashes } = crashingDeps(['writeTaskResults'], (n) => n === 1);
    const poller = h.poller({ handler: handlerWith(deps), maxConcurrency: 2 }).start();
    onTestFinished(() => poller.stop());
    const peid = await h.startRun('crash-diamond', { score: 10 });

    // The first batch's one write ended `a`, queued `b` and ran the transform `c` inline (both depend on `a`
    // alone), then the batch died: nothing closed, nothing sent; `d` waits for `b`.
    await poller.until(
      async () => (crashes.get('writeTaskResults') === 1 ? true : undefined),
      20_000,
      'the injected crash',
    );
    const afterCrash = await storedRun(direct.db, peid);
    expect(Object.fromEntries(afterCrash.tasks.map((t) => [t.task_id, t.status]))).toEqual({
      a: 'succeeded',
      b: 'queued',
      c: 'succeeded',
      d: 'pending',
    });
    expect(afterCrash.exec?.open_tasks.sort()).toEqual(['a', 'b', 'c', 'd']);
    // The crashed group's message is left for redelivery (a batch item failure, not a handler error).
    await poller.until(
      async () => (poller.stats.messagesFailed === 1 ? true : undefined),
      20_000,
      'the failed message',
    );
    expect(poller.stats.handlerErrors).toBe(0);

    const done = await h.waitFinished(peid, 30_000);
    await poller.stop();
    expect(done.execution_status).toBe('completed');
    expect(statuses(done)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded' });
    expect(done.tasks.map((t) => t.attempts)).toEqual([1, 1, 1, 1]);
    await expectCalledOncePerAttempt(peid);
  });

  it('crashes after every 3rd results write, send and run close and every fan-in transition across 24 runs: all complete, integrations called once per attempt', async () => {
    const points: CrashPoint[] = ['writeTaskResults', 'transitionPending', 'send', 'closeTasks'];
    // Most dependents are decided in the results write now; the pending -> queued transitions left (a
    // join whose parents ended in two invocations, a redelivery's fan-in) crash the first time each
    // transition is tried, wherever it is, the other points every third call of a first delivery.
    const { deps, crashes } = crashingDeps(points, (n, point) => point === 'transitionPending' || n % 3 === 1);
    const poller = h.poller({ handler: handlerWith(deps), maxConcurrency: 4 }).start();
    onTestFinished(() => poller.stop());
    const peids = await mapLimit(Array.from({ length: 24 }), 4, async (_, i) =>
      h.startRun(i % 2 === 0 ? 'crash-diamond' : 'crash-any-join', { score: i }),
    );
    await waitNoRunning(direct.db, 90_000);
    await waitQueueEmpty(h.sqs, process.env.TASK_QUEUE_URL ?? '', 30_000);
    await poller.stop();
    console.log(`[consumer-crash] injected crashes: ${JSON.stringify(Object.fromEntries(crashes))}`);
    for (const p of points) expect(crashes.get(p) ?? 0, p).toBeGreaterThan(1);
    for (const peid of peids) {
      const e = await h.execution(peid);
      expect(e.execution_status, peid).toBe('completed');
      await expectCalledOncePerAttempt(peid);
    }
  });
});

describe('a worker process killed mid-run', () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(children.map((c) => stopChild(c)));
  });

  /** A worker process; function timeout 6 s, lease margin 0.5 s: a killed worker's claim expires ~6.5 s after it was taken. */
  const outputs: Array<() => string> = [];
  async function worker(): Promise<ChildProcess> {
    const { child, output } = await startWorker({
      WORKER_FUNCTION_TIMEOUT_MS: '6000',
      TASK_LEASE_MARGIN_MS: '500',
      WORKER_CONCURRENCY: '2',
    });
    children.push(child);
    outputs.push(output);
    return child;
  }

  it('SIGKILL while `slow` is calling its integration: a fresh worker takes the attempt over and completes the run', async () => {
    await h.createPlaybook({
      name: 'crash-kill',
      tasks: [
        { id: 'first', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/{{ execution.peid }}/first` } },
        {
          id: 'slow',
          type: 'http',
          depends_on: ['first'],
          config: { method: 'GET', url: `${h.stub.url}/delay/2000/{{ execution.peid }}/slow` },
        },
        { id: 'side', type: 'noop', depends_on: ['first'] },
        {
          id: 'last',
          type: 'http',
          depends_on: ['slow', 'side'],
          config: { method: 'GET', url: `${h.stub.url}/ok/{{ execution.peid }}/last` },
        },
      ],
    });
    const first = await worker();
    const peid = await h.startRun('crash-kill');
    // Kill once `slow`'s call reached the integration: `first` is written, `slow` is claimed and in flight.
    await h
      .poller()
      .until(async () => (callsOf(h.stub.calls, peid, 'slow') > 0 ? true : undefined), 60_000, 'the slow call')
      .catch((err: Error) => {
        throw new Error(`${err.message}; worker output: ${outputs.map((o) => o()).join('\n---\n')}`);
      });
    const killed = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_c, s) => resolve(s)));
    process.kill(first.pid as number, 'SIGKILL');
    expect(await killed).toBe('SIGKILL');

    const atKill = await storedRun(direct.db, peid);
    const at = Object.fromEntries(atKill.tasks.map((t) => [t.task_id, t.status]));
    expect(at.first).toBe('succeeded');
    expect(at.slow).toBe('running');
    expect(at.last).toBe('pending');
    expect(atKill.exec?.execution_status).toBe('running');

    await worker();
    const done = await h.waitFinished(peid, 60_000);
    expect(done.execution_status).toBe('completed');
    expect(statuses(done)).toEqual({ first: 'succeeded', slow: 'succeeded', side: 'succeeded', last: 'succeeded' });
    const { exec, tasks } = await storedRun(direct.db, peid);
    expect(runProblems(exec, tasks)).toEqual([]);
    // Written before the kill, or started after it: exactly one call.
    expect(callsOf(h.stub.calls, peid, 'first')).toBe(1);
    expect(callsOf(h.stub.calls, peid, 'last')).toBe(1);
    // In flight when killed: the dead worker's call plus the takeover's, within the same attempt
    // (the integration must tolerate a repeat of a call whose answer was never recorded).
    expect(callsOf(h.stub.calls, peid, 'slow')).toBe(2);
    expect(tasks.find((t) => t.task_id === 'slow')?.attempts).toBe(1);
  });
});
