/**
 * One task, one blast radius: a batch carries tasks of several tenants, and whatever goes wrong
 * while one of them runs or while its result is built fails that task only, with a clear code.
 * The batch is never failed for it, so no other tenant's message is redelivered and no other
 * integration is called again.
 *
 * (a) Through the real handler and poller: an integration answering ~10 KB of 5,000 nested
 *     arrays (which JSON.parse accepts and JSON.stringify cannot serialize on Lambda's stack)
 *     batched with another tenant's http task.
 * (b) executeBatch itself, with one tenant's task made to throw (its sub-playbook catalog
 *     failing) or to produce an output nothing can serialize (an integration client that
 *     skips the depth check): the other tenant's task completes, no message is left failed.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BatchItem, type ExecuteBatchDeps, executeBatch } from '../../lib/engine/execute-batch.js';
import type { IntegrationClient } from '../../lib/engine/ports/integrations.js';
import { createHarness, type Harness } from '../support/harness.js';
import { coBatchPoller } from './support/co-batch.js';
import { directDb, waitRun, waitSettled } from './support/fixtures.js';
import { waitQueueEmpty } from './support/queue.js';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
let baseDeps: ExecuteBatchDeps;
const queueUrl = () => process.env.TASK_QUEUE_URL ?? '';

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  baseDeps = (await import('../../lib/wiring/index.js')).executeBatchDeps();
  const call = (path: string) => ({ id: 'call', type: 'http', config: { method: 'GET', url: `${h.stub.url}${path}` } });
  await h.createPlaybook({ name: 'deep-answer', tasks: [call('/deep/5000')] });
  await h.createPlaybook({ name: 'raw-deep', tasks: [call('/ok/raw-deep')] });
  await h.createPlaybook({ name: 'child', tasks: [{ id: 'n', type: 'noop' }] });
  await h.createPlaybook({ name: 'parent', tasks: [{ id: 'sub', type: 'playbook', config: { name: 'child' } }] });
  await h.createPlaybook(
    {
      name: 'neighbour',
      tasks: [
        call('/ok/neighbour'),
        { id: 'after', type: 'transform', depends_on: ['call'], config: { expression: 'tasks.call.output.status' } },
      ],
    },
    h.tokenB,
  );
});
afterAll(async () => {
  await h.close();
  await direct.close();
});
beforeEach(() => h.stub.reset());

/** Receives every queued message (the roots of the runs just started) as one batch. */
async function receiveAll(expected: number): Promise<{ items: BatchItem[]; handles: string[] }> {
  const items: BatchItem[] = [];
  const handles: string[] = [];
  const end = Date.now() + 10_000;
  while (items.length < expected && Date.now() < end) {
    const res = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl(), MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of res.Messages ?? []) {
      items.push({ messageId: m.MessageId ?? '', body: m.Body ?? '' });
      handles.push(m.ReceiptHandle ?? '');
    }
  }
  return { items, handles };
}

async function deleteAll(handles: string[]): Promise<void> {
  if (handles.length === 0) return;
  await h.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl(),
      Entries: handles.map((ReceiptHandle, i) => ({ Id: String(i), ReceiptHandle })),
    }),
  );
}

describe('a task failure stays in its task', () => {
  it('an answer of 5,000 nested arrays fails its task (RESPONSE_TOO_DEEP); the co-batched tenant runs once', async () => {
    const deep = await h.startRun('deep-answer');
    const other = await h.startRun('neighbour', {}, h.tokenB);
    const { poller, batches } = await coBatchPoller(h);
    try {
      const d = await waitSettled(h, deep, 30_000);
      const o = await waitSettled(h, other, 30_000, h.tokenB);
      await waitQueueEmpty(h.sqs, queueUrl(), 15_000);

      expect(batches[0], 'both first tasks in one batch').toBe(2);
      expect(d.execution_status).toBe('failed');
      expect(d.tasks[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'RESPONSE_TOO_DEEP' } });
      expect(o.execution_status).toBe('completed');
      expect(o.tasks.map((t) => [t.task_id, t.status])).toEqual([
        ['call', 'succeeded'],
        ['after', 'succeeded'],
      ]);
      expect(h.stub.callsTo('/ok/neighbour')).toHaveLength(1);
      expect(h.stub.callsTo('/deep/5000')).toHaveLength(1);
      // Every message was received once and deleted: nothing was redelivered.
      expect(poller.stats.handlerErrors).toBe(0);
      expect(poller.stats.messagesFailed).toBe(0);
      expect(poller.stats.messagesReceived).toBe(poller.stats.messagesDeleted);
    } finally {
      await poller.stop();
    }
  });

  it('a task that throws while it runs fails alone (TASK_ERROR); the batch reports no failed message', async () => {
    const parent = await h.startRun('parent');
    const other = await h.startRun('neighbour', {}, h.tokenB);
    const { items, handles } = await receiveAll(2);
    expect(items).toHaveLength(2);
    const children = baseDeps.children;
    if (!children) throw new Error('sub-playbooks are not configured');
    // tenant-a's playbook catalog fails (as a bug or an outage would); tenant-b's is untouched.
    const deps: ExecuteBatchDeps = {
      ...baseDeps,
      children: {
        ...children,
        playbooks: {
          getByName: async (tenant, name) => {
            if (tenant === 'tenant-a') throw new TypeError('catalog exploded');
            return children.playbooks.getByName(tenant, name);
          },
        },
      },
    };
    const result = await executeBatch(deps, items, 60_000);
    await deleteAll(handles);
    expect(result.failedMessageIds).toEqual([]);

    const p = await waitRun(direct.db, parent);
    expect(p.exec.execution_status).toBe('failed');
    expect(p.tasks[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'TASK_ERROR' } });
    expect(p.tasks[0]?.error?.message).toContain('catalog exploded');
    const o = await waitRun(direct.db, other);
    expect(o.exec.execution_status).toBe('completed');
    expect(h.stub.callsTo('/ok/neighbour')).toHaveLength(1);
  });

  it('an output nothing can serialize fails its task (OUTPUT_INVALID); the co-batched tenant completes', async () => {
    const raw = await h.startRun('raw-deep');
    const other = await h.startRun('neighbour', {}, h.tokenB);
    const { items, handles } = await receiveAll(2);
    expect(items).toHaveLength(2);
    let deepValue: unknown = [];
    for (let i = 0; i < 20_000; i += 1) deepValue = [deepValue];
    // An integration client without the depth check: the answer reaches the result building.
    const integrations: IntegrationClient = {
      request: async (req) =>
        req.url.endsWith('/ok/raw-deep') ? { status: 200, body: deepValue } : baseDeps.integrations.request(req),
    };
    const result = await executeBatch({ ...baseDeps, integrations }, items, 60_000);
    await deleteAll(handles);
    expect(result.failedMessageIds).toEqual([]);

    const r = await waitRun(direct.db, raw);
    expect(r.exec.execution_status).toBe('failed');
    expect(r.tasks[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'OUTPUT_INVALID' } });
    const o = await waitRun(direct.db, other);
    expect(o.exec.execution_status).toBe('completed');
    expect(h.stub.callsTo('/ok/neighbour')).toHaveLength(1);
  });
});
