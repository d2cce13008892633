/**
 * Cancelling or failing a run stops its sub-playbook runs, through every level: once the parent
 * has ended, no task of a child or grandchild calls its integration (checked on the stub's call
 * log after the children's delayed steps came due), and every run of the tree is finished.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import type { ExecutionRecord } from '../../lib/engine/model.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { directDb, runProblems, sleep, storedRun, waitRun } from './support/fixtures.js';
import { waitQueueEmpty } from './support/queue.js';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
const queueUrl = () => process.env.TASK_QUEUE_URL ?? '';

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  // The leaf waits 2 s on the queue, then calls its integration.
  await h.createPlaybook({
    name: 'cas-leaf',
    tasks: [
      { id: 'wait', type: 'delay', config: { seconds: 2 } },
      {
        id: 'call',
        type: 'http',
        depends_on: ['wait'],
        config: { method: 'GET', url: `${h.stub.url}/ok/{{ execution.peid }}/call` },
      },
    ],
  });
  await h.createPlaybook({
    name: 'cas-middle',
    tasks: [{ id: 'sub', type: 'playbook', config: { name: 'cas-leaf' } }],
  });
  await h.createPlaybook({ name: 'cas-top', tasks: [{ id: 'sub', type: 'playbook', config: { name: 'cas-middle' } }] });
  // Fails (a JSONata $error) one second in, while its child waits.
  await h.createPlaybook({
    name: 'cas-failing',
    tasks: [
      { id: 'sub', type: 'playbook', config: { name: 'cas-leaf' } },
      { id: 'pause', type: 'delay', config: { seconds: 1 } },
      { id: 'boom', type: 'transform', depends_on: ['pause'], config: { expression: '$error("boom")' } },
    ],
  });
});
afterAll(async () => {
  await h.close();
  await direct.close();
});
beforeEach(() => h.stub.reset());

/** The child run of `peid` once it exists. */
async function childOf(peid: string): Promise<ExecutionRecord> {
  const end = Date.now() + 20_000;
  for (;;) {
    const child = await direct.db
      .collection<ExecutionRecord>(COLLECTIONS.executions)
      .findOne({ 'parent.peid': peid }, { projection: { _id: 0 } });
    if (child) return child;
    if (Date.now() > end) throw new Error(`no child run of ${peid}`);
    await sleep(50);
  }
}

/** Waits until the leaf's delay step is queued (its delayed message is on the queue). */
async function leafWaiting(peid: string): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    const t = await direct.db.collection(COLLECTIONS.tasks).findOne({ peid, task_id: 'wait' });
    if (t?.status === 'queued' || t?.status === 'running') return;
    if (Date.now() > end) throw new Error(`leaf ${peid} never reached its delay`);
    await sleep(50);
  }
}

describe('a parent that ends stops its children', () => {
  it('cancelling a run cancels its child and grandchild; the grandchild never calls its integration', async () => {
    const top = await h.startRun('cas-top');
    const p = h.poller().start();
    try {
      const middle = await childOf(top);
      const leaf = await childOf(middle.peid);
      await leafWaiting(leaf.peid);
      expect((await api('POST', `/executions/${top}/cancel`, { token: h.tokenA })).status).toBe(202);
      // Every run of the tree has ended when the cancel answers.
      for (const peid of [top, middle.peid, leaf.peid])
        expect((await storedRun(direct.db, peid)).exec?.execution_status, peid).toBe('cancelled');
      // The leaf's delayed message comes due and is consumed; nothing is called.
      await sleep(2_500);
      await waitQueueEmpty(h.sqs, queueUrl(), 20_000);
      for (const peid of [top, middle.peid, leaf.peid]) {
        const { exec, tasks } = await waitRun(direct.db, peid, 10_000);
        expect(exec.execution_status, peid).toBe('cancelled');
        expect(runProblems(exec, tasks), peid).toEqual([]);
      }
      expect((await storedRun(direct.db, leaf.peid)).exec?.error?.code).toBe('PARENT_ENDED');
      expect((await storedRun(direct.db, middle.peid)).exec?.error?.code).toBe('PARENT_ENDED');
    } finally {
      await p.stop();
    }
    expect(h.stub.callsTo('/ok/')).toHaveLength(0);
  });

  it("a failing run cancels its waiting child; the child's integration is never called", async () => {
    const top = await h.startRun('cas-failing');
    const p = h.poller().start();
    try {
      const leaf = await childOf(top);
      const { exec } = await waitRun(direct.db, top, 20_000);
      expect(exec.execution_status).toBe('failed');
      expect(exec.error?.message).toContain('boom');
      const settled = await waitRun(direct.db, leaf.peid, 10_000);
      expect(settled.exec.execution_status).toBe('cancelled');
      expect(settled.exec.error?.code).toBe('PARENT_ENDED');
      await sleep(2_500);
      await waitQueueEmpty(h.sqs, queueUrl(), 20_000);
    } finally {
      await p.stop();
    }
    expect(h.stub.callsTo('/ok/')).toHaveLength(0);
  });
});
