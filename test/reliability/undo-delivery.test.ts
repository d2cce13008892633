/**
 * At-least-once delivery and crashes against containments (docs/containment.md): rollbacks whose
 * messages are delivered up to three times, shuffled, and a consumer that dies right after
 * recording an undo's outcome or right after sending the undos it released (its message comes
 * back). Whatever happens, each undo is called once, in reverse dependency order, and every
 * rollback finishes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { type ExecuteBatchDeps, executeBatch } from '../../lib/engine/execute-batch.js';
import type { UndoDeps } from '../../lib/engine/undo.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { mapLimit } from './support/fixtures.js';
import { waitQueueEmpty } from './support/queue.js';

let h: Harness;
let baseDeps: ExecuteBatchDeps;

/** A graph of containments: a -> (b, c) -> d -> e, and f beside them; each undo's URL names its task and run. */
const TASKS: Array<[string, string[]]> = [
  ['a', []],
  ['b', ['a']],
  ['c', ['a']],
  ['d', ['b', 'c']],
  ['e', ['d']],
  ['f', []],
];

beforeAll(async () => {
  h = await createHarness();
  baseDeps = (await import('../../lib/wiring/index.js')).executeBatchDeps();
  await h.createPlaybook({
    name: 'contained',
    tasks: TASKS.map(([id, depends_on]) => ({
      id,
      type: 'http',
      depends_on,
      config: { method: 'POST', url: `${h.stub.url}/ok/apply/${id}/{{ execution.peid }}` },
      undo: { method: 'DELETE', url: `${h.stub.url}/ok/undo/${id}/{{ execution.peid }}` },
    })),
  });
});
afterAll(async () => h.close());
beforeEach(() => h.stub.reset());

/** The undo calls of a run, in the order the stub received them. */
const undoCalls = (peid: string) =>
  h.stub.calls
    .filter((c) => c.path.startsWith('/ok/undo/') && c.path.split('/')[4] === peid)
    .map((c) => c.path.split('/')[3] as string);

/** Every undo once, each after the undos of everything that depends on it. */
function expectReverseOrder(peid: string): void {
  const calls = undoCalls(peid);
  expect([...calls].sort(), peid).toEqual(TASKS.map(([id]) => id).sort());
  const at = new Map(calls.map((id, i) => [id, i]));
  for (const [id, deps] of TASKS) {
    for (const d of deps) expect(at.get(id) as number, `${id} before ${d}`).toBeLessThan(at.get(d) as number);
  }
}

async function completedRuns(n: number): Promise<string[]> {
  const poller = h.poller({ maxConcurrency: 4 }).start();
  const peids = await mapLimit(Array.from({ length: n }), 4, () => h.startRun('contained'));
  for (const peid of peids) expect((await h.waitFinished(peid, 60_000)).execution_status).toBe('completed');
  await poller.stop();
  return peids;
}

async function undoStatuses(peid: string): Promise<string[]> {
  const res = await api('GET', `/executions/${peid}`, { token: h.tokenA });
  return (res.body as { tasks: Array<{ undo?: { status: string } }> }).tasks.map((t) => t.undo?.status ?? 'none');
}

async function allUndone(peids: string[]): Promise<void> {
  const end = Date.now() + 90_000;
  for (;;) {
    const states = await Promise.all(peids.map(undoStatuses));
    if (states.every((s) => s.every((x) => x === 'undone'))) return;
    if (Date.now() > end) throw new Error(`undos still running: ${JSON.stringify(states)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('rollbacks under at-least-once delivery', () => {
  it('every message delivered up to 3 times, batches shuffled: each undo called once, in reverse dependency order', async () => {
    const peids = await completedRuns(6);
    const poller = h.poller({ maxConcurrency: 4, randomDuplicates: { maxDeliveries: 3 } }).start();
    onTestFinished(() => poller.stop());
    // Each rollback requested twice, at once.
    await Promise.all(
      peids.flatMap((peid) => [0, 1].map(() => api('POST', `/executions/${peid}/rollback`, { token: h.tokenA }))),
    );
    await allUndone(peids);
    await waitQueueEmpty(h.sqs, process.env.TASK_QUEUE_URL ?? '', 60_000);
    await poller.stop();
    expect(poller.stats.extraDeliveries).toBeGreaterThan(0);
    for (const peid of peids) expectReverseOrder(peid);
  });
});

/** Whether the invocation in progress may crash (first deliveries only: a message that kept crashing would be dead-lettered). */
const invocation = new AsyncLocalStorage<{ mayCrash: boolean }>();

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

describe('a consumer that dies in the middle of an undo', () => {
  it('right after recording the outcome, or after sending the undos it released: the message comes back, nothing is called twice', async () => {
    const peids = await completedRuns(4);
    const crashes = { record: 0, send: 0 };
    let n = 0;
    const real = baseDeps.undo as UndoDeps;
    const crashAfter = async <T>(what: 'record' | 'send', call: () => Promise<T>): Promise<T> => {
      const result = await call();
      n += 1;
      if (invocation.getStore()?.mayCrash && n % 2 === 1) {
        crashes[what] += 1;
        throw new Error(`injected crash after the undo's ${what}`);
      }
      return result;
    };
    const undo: UndoDeps = {
      ...real,
      undos: { ...real.undos, recordUndo: (...args) => crashAfter('record', () => real.undos.recordUndo(...args)) },
      queue: {
        send: (messages) =>
          messages.length > 0 ? crashAfter('send', () => real.queue.send(messages)) : real.queue.send(messages),
      },
    };
    const poller = h.poller({ handler: handlerWith({ ...baseDeps, undo }), maxConcurrency: 4 }).start();
    onTestFinished(() => poller.stop());
    for (const peid of peids)
      expect((await api('POST', `/executions/${peid}/rollback`, { token: h.tokenA })).status).toBe(202);
    await allUndone(peids);
    await waitQueueEmpty(h.sqs, process.env.TASK_QUEUE_URL ?? '', 60_000);
    await poller.stop();
    expect(crashes.record).toBeGreaterThan(0);
    expect(crashes.send).toBeGreaterThan(0);
    for (const peid of peids) expectReverseOrder(peid);
  });
});
