/**
 * The RunStore contract: what the engine relies on from a run store, checked on the MongoDB
 * adapter against the real local server (test/integration/run-store-mongo.test.ts) and on the
 * in-memory store of the engine's unit tests (test/unit/run-store-memory.test.ts), so the two
 * cannot drift apart. Each test works in a tenant of its own.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ExecutionRecord, itemTaskId, newTaskRecord, type TaskRecord, taskKey } from '../../lib/engine/model.js';
import type { RunStore } from '../../lib/engine/ports/run-store.js';
import { planTestRun } from '../support/planned-run.js';

const AUDIT = {
  id: 'e1',
  tenant_code: 't',
  at: 1,
  actor: 'a',
  action: 'run.cancel' as const,
  target: 'x',
  details: {},
};
const RESULT = { output_json: '{"ok":1}', truncated: false, error: null, finished_at: 50, duration_ms: 5 };

/** A run of a -> b, c (b, c depend on a), d alone; a for_each task `loop` after d. */
function newRun(tenant = `t-${randomUUID()}`, peid = randomUUID(), createddate = 10) {
  const planned = planTestRun(
    [
      { id: 'a', type: 'noop' },
      { id: 'b', type: 'noop', depends_on: ['a'] },
      { id: 'c', type: 'noop', depends_on: ['a'] },
      { id: 'd', type: 'noop' },
      { id: 'loop', type: 'noop', for_each: 'alert.list', depends_on: ['d'] },
    ],
    peid,
  );
  const exec: ExecutionRecord = { ...planned.exec, tenant_code: tenant, createddate, updateddate: createddate };
  const tasks = planned.tasks.map((t) => ({ ...t, tenant_code: tenant }));
  const ref = { tenant_code: tenant, peid };
  const key = (task_id: string) => ({ ...ref, task_id });
  return { exec, tasks, ref, key, tenant, peid };
}

function items(loop: TaskRecord, n: number): TaskRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    ...newTaskRecord({ ...loop, task_id: itemTaskId(loop.task_id, i), dependents: [], status: 'queued' }, 1),
    item_of: loop.task_id,
    item_index: i,
    item_json: String(i),
  }));
}

/** The `i`th element, which the test knows is there. */
function nth<T>(list: T[], i: number): T {
  const v = list[i];
  if (v === undefined) throw new Error(`no element ${i}`);
  return v;
}

export function runStoreContract(name: string, makeStore: () => RunStore | Promise<RunStore>): void {
  describe(`RunStore contract: ${name}`, () => {
    const store = async () => makeStore();

    it('writes a run once, reads it by tenant only, and deletes it whole', async () => {
      const s = await store();
      const r = newRun();
      expect(await s.insertRun(r.exec, r.tasks)).toBe(true);
      expect(await s.insertRun(r.exec, r.tasks)).toBe(false);
      expect(await s.getExecution(r.ref)).toMatchObject({ peid: r.peid, open_tasks: ['a', 'b', 'c', 'd', 'loop'] });
      expect(await s.getExecution({ ...r.ref, tenant_code: 'other' })).toBeNull();
      await s.deleteRun(r.ref);
      expect(await s.getExecution(r.ref)).toBeNull();
      expect(await s.listGraphTasks(r.ref, { outputs: true })).toEqual([]);
    });

    it('lists runs newest first with filters and a cursor, without alert or open set', async () => {
      const s = await store();
      const tenant = `t-${randomUUID()}`;
      const runs = [10, 20, 20, 30].map((at) => newRun(tenant, randomUUID(), at));
      for (const r of runs) await s.insertRun({ ...r.exec, alert_id: r.exec.createddate === 20 ? 'x' : 'y' }, r.tasks);
      await s.finishRun(nth(runs, 3).ref, 'failed', 40, 30);
      const page = await s.listExecutions(tenant, { limit: 10 });
      expect(page.map((e) => e.createddate)).toEqual([30, 20, 20, 10]);
      expect(nth(page, 1).peid > nth(page, 2).peid).toBe(true);
      expect(page[0]).not.toHaveProperty('alert_json');
      expect(page[0]).not.toHaveProperty('open_tasks');
      const next = await s.listExecutions(tenant, { limit: 2, before: nth(page, 1) });
      expect(next.map((e) => e.peid)).toEqual([nth(page, 2).peid, nth(page, 3).peid]);
      expect((await s.listExecutions(tenant, { limit: 9, alert_id: 'x' })).length).toBe(2);
      expect((await s.listExecutions(tenant, { limit: 9, status: 'failed' })).map((e) => e.createddate)).toEqual([30]);
      expect((await s.listExecutions(tenant, { limit: 9, since: 20, until: 30 })).length).toBe(2);
      expect((await s.listExecutions(tenant, { limit: 9, mode: 'live' })).length).toBe(4);
    });

    it('claims an attempt once; another holder takes it over only after its lease ran out', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      const claim = { ...r.key('a'), attempt: 1 };
      expect(await s.claimTasks([claim], 'w1', 100, 10)).toBe(1);
      expect(await s.claimTasks([claim], 'w2', 200, 50)).toBe(0);
      expect(await s.claimTasks([{ ...claim, attempt: 2 }], 'w2', 200, 150)).toBe(0);
      expect(await s.claimTasks([claim], 'w2', 300, 101)).toBe(1);
      expect(await s.claimTasks([{ ...r.key('b'), attempt: 1 }], 'w2', 300, 101)).toBe(0);
      const [a] = (await s.taskStates([r.key('a')])) as [TaskRecord];
      expect(a).toMatchObject({ status: 'running', attempts: 1, claim: { token: 'w2', until: 300 } });
    });

    it('writes results only for the holder of the claim, and releases it', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      await s.claimTasks(
        [
          { ...r.key('a'), attempt: 1 },
          { ...r.key('d'), attempt: 1 },
        ],
        'w1',
        100,
        10,
      );
      await s.writeTaskResults([{ ...r.key('a'), status: 'succeeded', ...RESULT, mocked: true }], 'w1', 60);
      await s.writeTaskResults([{ ...r.key('d'), status: 'failed', ...RESULT }], 'w2', 60);
      const graph = await s.listGraphTasks(r.ref, { outputs: true });
      expect(graph.map((t) => t.task_id)).toEqual(['a', 'b', 'c', 'd', 'loop']);
      expect(graph[0]).toMatchObject({ status: 'succeeded', output_json: '{"ok":1}', claim: null, mocked: true });
      expect(graph[3]).toMatchObject({ status: 'running', claim: { token: 'w1' } });
      expect((await s.listGraphTasks(r.ref, { outputs: false }))[0]?.output_json).toBeNull();
    });

    it('decides a pending task once: the second caller wins nothing', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      const won = await s.transitionPending(
        [
          { ...r.key('b'), to: 'queued' },
          { ...r.key('c'), to: 'skipped' },
        ],
        'x',
        5,
      );
      expect([...won].sort()).toEqual([taskKey(r.peid, 'b'), taskKey(r.peid, 'c')]);
      const again = await s.transitionPending(
        [
          { ...r.key('b'), to: 'skipped' },
          { ...r.key('a'), to: 'queued' },
        ],
        'y',
        6,
      );
      expect([...again]).toEqual([]);
      const states = await s.taskStates([r.key('b'), r.key('c'), r.key('b')]);
      expect(states.map((t) => [t.task_id, t.status]).sort()).toEqual([
        ['b', 'queued'],
        ['c', 'skipped'],
      ]);
      expect(Object.keys(nth(states, 0)).sort()).toEqual(
        ['attempts', 'claim', 'def', 'dependents', 'peid', 'status', 'task_id', 'tenant_code', 'type'].sort(),
      );
    });

    it('loads runs with their graph tasks and only the items asked for, never another tenant', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      const loop = r.tasks.find((t) => t.task_id === 'loop') as TaskRecord;
      await s.insertItems(items(loop, 3));
      const loaded = await s.loadRuns([r.ref, { ...r.ref, tenant_code: 'other' }], [taskKey(r.peid, 'loop[1]')]);
      expect(loaded.executions.map((e) => e.peid)).toEqual([r.peid]);
      expect(loaded.tasks.map((t) => t.task_id).sort()).toEqual(['a', 'b', 'c', 'd', 'loop', 'loop[1]']);
      expect((await s.loadRuns([{ ...r.ref, tenant_code: 'other' }])).tasks).toEqual([]);
    });

    it('closes tasks on the run; finishes it once; cancels what is open, not what a worker holds', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      await s.claimTasks([{ ...r.key('a'), attempt: 1 }], 'w1', 100, 10);
      const closed = await s.closeTasks(
        r.ref,
        [
          { task_id: 'd', status: 'succeeded' },
          { task_id: 'zz', status: 'failed' },
        ],
        20,
      );
      expect(closed?.before.open_tasks).toEqual(['a', 'b', 'c', 'd', 'loop']);
      expect(closed?.after).toMatchObject({ open_tasks: ['a', 'b', 'c', 'loop'], task_ends: { d: 'succeeded' } });
      expect(closed?.completed).toBe(false);
      expect(await s.getExecution(r.ref)).toMatchObject({ open_tasks: ['a', 'b', 'c', 'loop'] });
      expect(
        await s.closeTasks({ ...r.ref, tenant_code: 'other' }, [{ task_id: 'a', status: 'failed' }], 21),
      ).toBeNull();
      expect(await s.finishRun(r.ref, 'cancelled', 30, 10, { code: 'X', message: 'x' }, AUDIT)).toBe(true);
      expect(await s.finishRun(r.ref, 'completed', 31, 10)).toBe(false);
      await s.cancelOpenTasks([r.ref], 32);
      const byId = new Map((await s.listGraphTasks(r.ref, { outputs: false })).map((t) => [t.task_id, t]));
      expect(byId.get('a')?.status).toBe('running');
      expect(byId.get('b')).toMatchObject({ status: 'cancelled', finished_at: 32 });
      expect(byId.get('d')?.status).toBe('cancelled');
      expect(await s.getExecution(r.ref)).toMatchObject({
        execution_status: 'cancelled',
        completeddate: 30,
        playbook_runtime: 20,
        error: { code: 'X' },
        audit_pending: [{ id: 'e1' }],
      });
    });

    it('the close that empties the open set completes the run once, with the view or by itself', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      const ends = (ids: string[]) => ids.map((task_id) => ({ task_id, status: 'succeeded' as const }));
      // A stale view (two open, one believed) never completes: `d` stays open.
      const stale = await s.closeTasks(r.ref, ends(['a', 'b', 'c']), 20, {
        createddate: 10,
        believedOpen: ['a', 'b', 'c'],
      });
      expect(stale).toMatchObject({
        completed: false,
        after: { open_tasks: ['d', 'loop'], execution_status: 'running' },
      });
      // The exact view: closed and completed in the same call.
      const last = await s.closeTasks(r.ref, ends(['d', 'loop']), 30, { createddate: 10, believedOpen: ['d', 'loop'] });
      expect(last).toMatchObject({ completed: true, before: { open_tasks: ['d', 'loop'] } });
      expect(last?.after).toMatchObject({ execution_status: 'completed', open_tasks: [], completeddate: 30 });
      expect(await s.getExecution(r.ref)).toMatchObject({
        execution_status: 'completed',
        completeddate: 30,
        playbook_runtime: 20,
        open_tasks: [],
        task_ends: { a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded', loop: 'succeeded' },
      });
      expect(await s.finishRun(r.ref, 'completed', 31, 10)).toBe(false);
      // Without a view: completed in the update (pipelines), or left for finishRun with nothing open.
      const r2 = newRun();
      await s.insertRun(r2.exec, r2.tasks);
      const blind = await s.closeTasks(r2.ref, ends(['a', 'b', 'c', 'd', 'loop']), 40, { createddate: 10 });
      expect(blind?.after.open_tasks).toEqual([]);
      if (!blind?.completed) expect(await s.finishRun(r2.ref, 'completed', 41, 10)).toBe(true);
      expect((await s.getExecution(r2.ref))?.execution_status).toBe('completed');
      // A run that has ended is closed but never completed again.
      const again = await s.closeTasks(r2.ref, ends(['a']), 50, { createddate: 10, believedOpen: [] });
      expect(again?.completed).toBe(false);
    });

    it('closes of two runs at once, on a store that has closed nothing yet, both go through', async () => {
      const s = await store();
      const [r1, r2] = [newRun(), newRun()];
      await Promise.all([s.insertRun(r1.exec, r1.tasks), s.insertRun(r2.exec, r2.tasks)]);
      const all = ['a', 'b', 'c', 'd', 'loop'].map((task_id) => ({ task_id, status: 'succeeded' as const }));
      const closed = await Promise.all(
        [r1, r2].map((r) =>
          s.closeTasks(r.ref, all, 20, { createddate: 10, believedOpen: ['a', 'b', 'c', 'd', 'loop'] }),
        ),
      );
      expect(closed.map((c) => [c?.after.open_tasks, c?.completed])).toEqual([
        [[], true],
        [[], true],
      ]);
    });

    it('decides pending tasks within a results write: one writer wins each, held results still apply', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      await s.claimTasks([{ ...r.key('a'), attempt: 1 }], 'w1', 100, 10);
      const decided = (task_id: string, status: 'queued' | 'skipped' | 'succeeded', started_at: number | null) => ({
        ...r.key(task_id),
        status,
        output_json: status === 'succeeded' ? '7' : null,
        truncated: false,
        error: null,
        finished_at: status === 'queued' ? null : 60,
        duration_ms: null,
        decided: { attempts: status === 'succeeded' ? 1 : 0, started_at },
      });
      const won = await s.writeTaskResults(
        [
          { ...r.key('a'), status: 'succeeded', ...RESULT },
          decided('b', 'queued', null),
          decided('c', 'succeeded', 55),
        ],
        'w1',
        60,
      );
      expect([...won].sort()).toEqual([taskKey(r.peid, 'b'), taskKey(r.peid, 'c')]);
      // A second writer (a redelivery's fan-in) finds them decided: it wins nothing and changes nothing.
      const lost = await s.writeTaskResults([decided('b', 'skipped', null), decided('a', 'queued', null)], 'w2', 70);
      expect([...lost]).toEqual([]);
      const byId = new Map((await s.listGraphTasks(r.ref, { outputs: true })).map((t) => [t.task_id, t]));
      expect(byId.get('a')).toMatchObject({ status: 'succeeded', claim: null, output_json: '{"ok":1}' });
      expect(byId.get('b')).toMatchObject({ status: 'queued', attempts: 0, started_at: null });
      expect(byId.get('c')).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        started_at: 55,
        finished_at: 60,
        output_json: '7',
        claim: null,
      });
      // Only some of a bulk's decisions applied: exactly those are reported.
      const partial = await s.writeTaskResults(
        [decided('loop', 'skipped', null), decided('b', 'skipped', null), decided('d', 'skipped', null)],
        'w3',
        80,
      );
      expect([...partial]).toEqual([taskKey(r.peid, 'loop')]);
    });

    it('loads executions, graph states without definitions, and tasks by key, never another tenant', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      const loop = r.tasks.find((t) => t.task_id === 'loop') as TaskRecord;
      await s.insertItems(items(loop, 2));
      await s.claimTasks([{ ...r.key('a'), attempt: 1 }], 'w1', 100, 10);
      await s.writeTaskResults([{ ...r.key('a'), status: 'succeeded', ...RESULT }], 'w1', 60);
      const other = { ...r.ref, tenant_code: 'other' };
      expect((await s.loadExecutions([r.ref, other])).map((e) => [e.peid, e.open_tasks.length])).toEqual([[r.peid, 5]]);
      expect(await s.loadExecutions([other])).toEqual([]);
      const states = await s.loadGraphStates([r.ref, other]);
      expect(states.map((t) => t.task_id).sort()).toEqual(['a', 'b', 'c', 'd', 'loop']);
      const a = states.find((t) => t.task_id === 'a');
      expect(a).toMatchObject({ status: 'succeeded', output_json: '{"ok":1}', attempts: 1 });
      expect(a && ('def' in a || 'dependents' in a)).toBe(false);
      const tasks = await s.loadTasks([
        { ...r.ref, task_id: 'loop[1]' },
        { ...other, task_id: 'loop[0]' },
      ]);
      expect(tasks.map((t) => [t.task_id, t.item_index, t.def.id])).toEqual([['loop[1]', 1, 'loop']]);
    });

    it('expands a loop, closes its items, and writes its result once when the last closes', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      const loop = r.tasks.find((t) => t.task_id === 'loop') as TaskRecord;
      await s.transitionPending([{ ...r.key('loop'), to: 'queued' }], 'x', 5);
      await s.claimTasks([{ ...r.key('loop'), attempt: 1 }], 'w1', 100, 10);
      expect(await s.markExpanded(r.ref, 'loop', 2, 'w2', 11)).toBe(false);
      expect(await s.markExpanded(r.ref, 'loop', 2, 'w1', 11)).toBe(true);
      await s.insertItems(items(loop, 2));
      await s.insertItems(items(loop, 2));
      expect((await s.listItemStates(r.ref)).map((i) => [i.item_of, i.item_index, i.status])).toEqual([
        ['loop', 0, 'queued'],
        ['loop', 1, 'queued'],
      ]);
      expect((await s.closeItems(r.ref, 'loop', [1], 12))?.open_items).toEqual([0]);
      expect(await s.finishLoop(r.ref, 'loop', { status: 'succeeded', ...RESULT }, 13)).toBe(false);
      expect((await s.closeItems(r.ref, 'loop', [0, 1], 14))?.open_items).toEqual([]);
      expect(await s.finishLoop(r.ref, 'loop', { status: 'succeeded', ...RESULT }, 15)).toBe(true);
      expect(await s.finishLoop(r.ref, 'loop', { status: 'failed', ...RESULT }, 16)).toBe(false);
      expect((await s.loadItems(r.ref, 'loop')).map((i) => [i.item_index, i.status])).toEqual([
        [0, 'queued'],
        [1, 'queued'],
      ]);
      expect((await s.taskStates([r.key('loop')]))[0]?.status).toBe('succeeded');
    });

    it('a task waits for its child run without a claim; its result is written once, whatever open items', async () => {
      const s = await store();
      const r = newRun();
      await s.insertRun(r.exec, r.tasks);
      await s.claimTasks([{ ...r.key('a'), attempt: 1 }], 'w1', 100, 10);
      expect(await s.finishWaiting(r.ref, 'a', { status: 'succeeded', ...RESULT }, 11)).toBe(false);
      expect(await s.markWaiting(r.ref, 'a', 'child', 'w2', 11)).toBe(false);
      expect(await s.markWaiting(r.ref, 'a', 'child', 'w1', 11)).toBe(true);
      await s.cancelOpenTasks([{ ...r.ref, tenant_code: 'other' }], 12);
      const retry = { status: 'queued' as const, ...RESULT, finished_at: null };
      expect(await s.finishWaiting(r.ref, 'a', retry, 12)).toBe(true);
      expect(await s.finishWaiting(r.ref, 'a', { status: 'failed', ...RESULT }, 13)).toBe(false);
      const [a] = await s.listGraphTasks(r.ref, { outputs: true });
      expect(a).toMatchObject({ status: 'queued', child_peid: 'child', claim: null, attempts: 1 });
    });

    it('charges work within the budget only; a missing counter counts as zero', async () => {
      const s = await store();
      const r = newRun();
      const { work_used: _w, ...exec } = r.exec;
      await s.insertRun(exec as ExecutionRecord, r.tasks);
      expect(await s.chargeWork(r.ref, 6, 10)).toBe(true);
      expect(await s.chargeWork(r.ref, 5, 10)).toBe(false);
      expect(await s.chargeWork(r.ref, 4, 10)).toBe(true);
      expect(await s.chargeWork({ ...r.ref, tenant_code: 'other' }, 1, 10)).toBe(false);
      expect((await s.getExecution(r.ref))?.work_used).toBe(10);
    });

    it('finds and cancels child runs, those still running', async () => {
      const s = await store();
      const parent = newRun();
      const kids = [newRun(parent.tenant), newRun(parent.tenant)];
      await s.insertRun(parent.exec, parent.tasks);
      for (const k of kids) {
        await s.insertRun({ ...k.exec, parent: { peid: parent.peid, task_id: 'a', attempt: 1 }, depth: 1 }, k.tasks);
      }
      await s.finishRun(nth(kids, 0).ref, 'completed', 20, 10);
      const found = await s.childRuns([parent.ref]);
      expect(found.map((c) => c.peid).sort()).toEqual(kids.map((k) => k.peid).sort());
      await s.cancelRuns(
        found.map((c) => ({ ...c })),
        30,
        { code: 'PARENT_ENDED', message: 'x' },
      );
      expect((await s.getExecution(nth(kids, 0).ref))?.execution_status).toBe('completed');
      expect(await s.getExecution(nth(kids, 1).ref)).toMatchObject({
        execution_status: 'cancelled',
        playbook_runtime: 20,
      });
      expect(await s.childRuns([{ ...parent.ref, tenant_code: 'other' }])).toEqual([]);
    });

    it('waits: readers see a wait but never a token hash; a run end cancels waiting tasks; a reset asks again', async () => {
      const s = await store();
      const r = newRun();
      const loop = r.tasks.find((t) => t.task_id === 'loop') as TaskRecord;
      const hash = 'f'.repeat(64);
      const approval = {
        playbook_name: 'p',
        prompt: 'Block?',
        choices: ['approve', 'reject'],
        approvers: null,
        on_timeout: 'fail',
        token_hash: hash,
        answer: null,
      };
      const wait = { kind: 'approval' as const, since: 5, until: 500 };
      await s.insertRun(
        r.exec,
        r.tasks.map((t) => (t.task_id === 'd' ? { ...t, status: 'waiting' as const, attempts: 1, wait, approval } : t)),
      );
      const [item] = items(loop, 1) as [TaskRecord];
      const itemWait = { kind: 'delay' as const, since: 5, until: 900 };
      await s.insertItems([{ ...item, status: 'waiting', attempts: 1, wait: itemWait }]);
      const read = async () => (await s.listGraphTasks(r.ref, { outputs: false })).find((t) => t.task_id === 'd');
      const d = await read();
      expect(d).toMatchObject({ status: 'waiting', wait, approval: { prompt: 'Block?', answer: null } });
      expect(JSON.stringify(d)).not.toContain(hash);
      expect(await s.listItemStates(r.ref)).toEqual([
        expect.objectContaining({ task_id: 'loop[0]', status: 'waiting', wait: itemWait }),
      ]);
      await s.finishRun(r.ref, 'cancelled', 30, 10);
      await s.cancelOpenTasks([r.ref], 30);
      expect((await read())?.status).toBe('cancelled');
      expect((await s.listItemStates(r.ref))[0]?.status).toBe('cancelled');
      await s.resetTasks(r.ref, [{ task_id: 'd', status: 'queued' }], 40);
      const reset = await read();
      expect(reset).toMatchObject({ status: 'queued', attempts: 0 });
      expect(reset).not.toHaveProperty('wait');
      expect(reset).not.toHaveProperty('approval');
    });

    it('redrive: resets what did not succeed and reopens the run from the outcome it read, once', async () => {
      const s = await store();
      const r = newRun();
      const loop = r.tasks.find((t) => t.task_id === 'loop') as TaskRecord;
      await s.insertRun(r.exec, r.tasks);
      const [first, second] = items(loop, 2) as [TaskRecord, TaskRecord];
      await s.insertItems([{ ...first, status: 'cancelled', item_successor: 1 }, second]);
      await s.claimTasks(
        [
          { ...r.key('a'), attempt: 1 },
          { ...r.key('d'), attempt: 1 },
        ],
        'w',
        100,
        10,
      );
      await s.writeTaskResults(
        [
          { ...r.key('a'), status: 'succeeded', ...RESULT },
          { ...r.key('d'), status: 'failed', ...RESULT },
        ],
        'w',
        20,
      );
      await s.finishRun(r.ref, 'failed', 30, 10);
      const failed = (await s.getExecution(r.ref)) as ExecutionRecord;
      await s.resetTasks(
        r.ref,
        [
          { task_id: 'a', status: 'queued' },
          { task_id: 'd', status: 'queued' },
          { task_id: 'loop', status: 'running', open_items: [0] },
          { task_id: 'loop[0]', status: 'queued', item_successor: null },
        ],
        40,
      );
      const byId = new Map((await s.listGraphTasks(r.ref, { outputs: true })).map((t) => [t.task_id, t]));
      expect(byId.get('a')?.status).toBe('succeeded');
      expect(byId.get('d')).toMatchObject({ status: 'queued', attempts: 0, output_json: null, error: null });
      expect(byId.get('loop')).toMatchObject({ status: 'running', claim: null, open_items: [0] });
      const item = (await s.loadRuns([r.ref], [taskKey(r.peid, 'loop[0]')])).tasks.find((t) => t.task_id === 'loop[0]');
      expect(item?.item_successor).toBeUndefined();
      expect(await s.reopenRun(r.ref, failed, ['d', 'loop'], 2, 41, AUDIT)).toBe(true);
      expect(await s.reopenRun(r.ref, failed, ['d'], 2, 42)).toBe(false);
      expect(await s.getExecution(r.ref)).toMatchObject({
        execution_status: 'running',
        attempt: 2,
        open_tasks: ['d', 'loop'],
        completeddate: null,
        history: [{ attempt: 1, execution_status: 'failed' }],
        audit_pending: [{ id: 'e1' }],
      });
    });
  });
}
