/**
 * GET /executions/{peid} and its timeline read a run and its tasks together. A task list
 * read before the run's last writes must not make a finished run show an unfinished task
 * (a CI run read back a completed run with a task not yet succeeded). The two reads are scripted
 * here, in the order that exposed it; the store itself is exercised by the integration tests.
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionRecord, TaskRecord } from '../../lib/engine/model.js';
import type { RunStore } from '../../lib/engine/ports/run-store.js';
import { getExecution, readRun } from '../../lib/engine/runs.js';
import { getTimeline } from '../../lib/engine/timeline.js';
import { NotFoundError } from '../../lib/errors.js';
import { planTestRun } from '../support/planned-run.js';

const PEID = '00000000-0000-4000-8000-000000000002';
const REF = { tenant_code: 't', peid: PEID };

function planned() {
  return planTestRun(
    [
      { id: 'a', type: 'noop' },
      { id: 'b', type: 'noop' },
      { id: 'join', type: 'noop', depends_on: ['a', 'b'] },
    ],
    PEID,
  );
}

/** The run and tasks as two moments: `before` the join's result (and the run's completion), `after`. */
function moments() {
  const { exec, tasks } = planned();
  const done = (t: TaskRecord): TaskRecord => ({ ...t, status: 'succeeded', claim: null, finished_at: 5 });
  const before = tasks.map((t) =>
    t.task_id === 'join' ? { ...t, status: 'running' as const, claim: { token: 'x', until: 99 } } : done(t),
  );
  const after = tasks.map(done);
  const completed: ExecutionRecord = {
    ...exec,
    execution_status: 'completed',
    open_tasks: [],
    completeddate: 6,
    playbook_runtime: 6,
  };
  return { running: exec, completed, before, after };
}

/** A store whose first task list is `lists[0]`, the next `lists[1]`, and so on (the last repeats); no loop items. */
function scripted(exec: ExecutionRecord, lists: TaskRecord[][]) {
  let reads = 0;
  const store = {
    getExecution: async () => exec,
    listGraphTasks: async () => lists[Math.min(reads++, lists.length - 1)] as TaskRecord[],
    listItemStates: async () => [],
  } as unknown as RunStore;
  return { store, reads: () => reads };
}

describe('reading a run with its tasks', () => {
  it('reads the tasks again when the run is finished and the first list shows a task unfinished', async () => {
    const m = moments();
    const s = scripted(m.completed, [m.before, m.after]);
    const view = await getExecution(s.store, REF);
    expect(view.execution_status).toBe('completed');
    expect(view.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
      ['join', 'succeeded'],
    ]);
    expect(s.reads()).toBe(2);
  });

  it('the timeline gets the same guarantee', async () => {
    const m = moments();
    const s = scripted(m.completed, [m.before, m.after]);
    const timeline = await getTimeline(s.store, REF, 10);
    expect(JSON.stringify(timeline)).not.toContain('"running"');
    expect(s.reads()).toBe(2);
  });

  it('reads once when the lists agree: a running run, or a finished run whose tasks are finished', async () => {
    const m = moments();
    const running = scripted(m.running, [m.before]);
    expect((await readRun(running.store, REF, { outputs: true, items: true })).tasks).toBe(m.before);
    expect(running.reads()).toBe(1);
    const finished = scripted(m.completed, [m.after]);
    expect((await readRun(finished.store, REF, { outputs: true, items: true })).tasks).toBe(m.after);
    expect(finished.reads()).toBe(1);
  });

  it('a failed run whose task is still in flight keeps it as read after the run', async () => {
    const m = moments();
    const failed = { ...m.running, execution_status: 'failed' as const };
    const s = scripted(failed, [m.before, m.before]);
    const { tasks } = await readRun(s.store, REF, { outputs: true, items: true });
    expect(tasks.find((t) => t.task_id === 'join')?.status).toBe('running');
    expect(s.reads()).toBe(2);
  });

  it('an unknown run is NotFound', async () => {
    const store = {
      getExecution: async () => null,
      listGraphTasks: async () => [],
      listItemStates: async () => [],
    } as unknown as RunStore;
    await expect(getExecution(store, REF)).rejects.toBeInstanceOf(NotFoundError);
  });
});
