/**
 * Bounded work per run: a run and its sub-playbook runs together create at most
 * RUN_WORK_BUDGET tasks, loop items and child runs. What a definition asks for statically is
 * refused when it is saved (400 naming the field); what only shows at run time (a loop's
 * list, child starts) fails the task with WORK_BUDGET_EXCEEDED before the work is written.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import type { ExecutionRecord, TaskRecord } from '../../lib/engine/model.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { directDb, runProblems, waitNoRunning, waitRun } from './support/fixtures.js';

// The smallest budget allowed (a playbook's own 200 tasks always fit); deployed default 5,000.
const BUDGET = 200;
process.env.RUN_WORK_BUDGET = String(BUDGET);

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  await h.createPlaybook({
    name: 'wide',
    tasks: Array.from({ length: 60 }, (_, i) => ({ id: `n${i}`, type: 'noop' })),
  });
  await h.createPlaybook({ name: 'tiny', tasks: [{ id: 'only', type: 'noop' }] });
});
afterAll(async () => {
  await h.close();
  await direct.close();
});
beforeEach(() => h.stub.reset());

/** Every run of the tree under `root` and their task documents (items included), read directly. */
async function tree(root: string): Promise<{ runs: ExecutionRecord[]; tasks: TaskRecord[] }> {
  const runs: ExecutionRecord[] = [];
  let level = [root];
  while (level.length > 0) {
    const found = await direct.db
      .collection<ExecutionRecord>(COLLECTIONS.executions)
      .find({ $or: [{ peid: { $in: level } }, { 'parent.peid': { $in: level } }] })
      .toArray();
    const fresh = found.filter((e) => !runs.some((r) => r.peid === e.peid));
    runs.push(...fresh);
    level = fresh.filter((e) => !level.includes(e.peid)).map((e) => e.peid);
  }
  const tasks = await direct.db
    .collection<TaskRecord>(COLLECTIONS.tasks)
    .find({ peid: { $in: runs.map((r) => r.peid) } })
    .toArray();
  return { runs, tasks };
}

describe('the work budget of a run', () => {
  it('refuses at save time a definition whose sub-playbooks alone pass the budget, naming the field', async () => {
    // 4 tasks + 4 x (1 child run + 60 tasks) = 248 > 200.
    const body = {
      name: 'too-wide',
      tasks: [0, 1, 2, 3].map((i) => ({ id: `w${i}`, type: 'playbook', config: { name: 'wide' } })),
    };
    const res = await api('POST', '/playbooks', { token: h.tokenA, body });
    expect(res.status).toBe(400);
    const error = (res.body as { error: { code: string; details: Array<{ path: string; message: string }> } }).error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details[0]?.path).toMatch(/^tasks\[[0-3]\]\.config\.name$/);
    expect(error.details[0]?.message).toContain('248');
    expect(error.details[0]?.message).toContain(String(BUDGET));
    // Three of them fit (187): saved; the fourth added by an update is refused the same way.
    const fits = { ...body, tasks: body.tasks.slice(0, 3) };
    expect((await api('POST', '/playbooks', { token: h.tokenA, body: fits })).status).toBe(201);
    const update = await api('PUT', '/playbooks/too-wide', { token: h.tokenA, body });
    expect(update.status).toBe(400);
    expect(JSON.stringify(update.body)).toContain('config.name');
    expect(await direct.db.collection(COLLECTIONS.playbooks).countDocuments({ name: 'too-wide' })).toBe(1);
  });

  it('fails a loop whose list passes the budget at run time, before writing any item', async () => {
    await h.createPlaybook({
      name: 'long-loop',
      tasks: [{ id: 'each', type: 'noop', for_each: 'alert.items' }],
    });
    const peid = await h.startRun('long-loop', { items: Array.from({ length: 250 }, (_, i) => i) });
    const p = h.poller().start();
    try {
      const { exec, tasks } = await waitRun(direct.db, peid, 20_000);
      expect(exec.execution_status).toBe('failed');
      expect(tasks).toHaveLength(1);
      expect(tasks[0]?.error?.code).toBe('WORK_BUDGET_EXCEEDED');
      expect(runProblems(exec, tasks)).toEqual([]);
    } finally {
      await p.stop();
    }
  });

  it('fails the child start that would pass the budget; what ran and was written stays within it', async () => {
    // 1 task + 120 items + 120 x (1 child run + 1 task) = 361 > 200: about 39 children fit.
    await h.createPlaybook({
      name: 'many-children',
      tasks: [{ id: 'each', type: 'playbook', for_each: 'alert.items', config: { name: 'tiny' } }],
    });
    const peid = await h.startRun('many-children', { items: Array.from({ length: 120 }, (_, i) => i) });
    const p = h.poller().start();
    try {
      const { exec } = await waitRun(direct.db, peid, 60_000);
      expect(exec.execution_status).toBe('failed');
      await waitNoRunning(direct.db, 30_000);
    } finally {
      await p.stop();
    }
    const { runs, tasks } = await tree(peid);
    // Task documents (the loop, its items, the children's tasks) plus the child runs.
    const units = tasks.length + (runs.length - 1);
    expect(units).toBeLessThanOrEqual(BUDGET);
    const children = runs.filter((r) => r.peid !== peid);
    expect(children.length).toBeGreaterThan(0);
    expect(children.length).toBeLessThan(120);
    const refused = tasks.filter((t) => t.error?.code === 'WORK_BUDGET_EXCEEDED');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((t) => t.item_of === 'each')).toBe(true);
    const loop = tasks.find((t) => t.peid === peid && t.task_id === 'each');
    expect(loop?.status).toBe('failed');
    console.log(
      `[work-budget] budget ${BUDGET}: ${children.length} of 120 children started, ${units} units written, ${refused.length} starts refused`,
    );
  });
});
