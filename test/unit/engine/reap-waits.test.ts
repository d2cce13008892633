/** How the reaper judges durable waits (lib/engine/reap-waits.ts): pure rules, no store. */
import { describe, expect, it } from 'vitest';
import { ageStart, hasWaitingTask, overdueWaits, type WaitView } from '../../../lib/engine/reap-waits.js';

const task = (task_id: string, status: WaitView['status'], wait?: WaitView['wait']): WaitView => ({
  tenant_code: 't',
  peid: 'p',
  task_id,
  status,
  attempts: 1,
  ...(wait ? { wait } : {}),
});

describe('the reaper and waits', () => {
  it("a run's age counts from its creation, or from the end of its last wait", () => {
    expect(ageStart(100, [task('a', 'succeeded'), task('b', 'queued')])).toBe(100);
    const waited = [
      task('a', 'succeeded', { kind: 'approval', since: 150, until: 9_000, ended_at: 4_000 }),
      task('b', 'succeeded', { kind: 'delay', since: 200, until: 3_000, ended_at: 3_010 }),
      task('c', 'queued'),
    ];
    expect(ageStart(100, waited)).toBe(4_000);
    // A wait cancelled (no end) does not move it.
    expect(ageStart(100, [task('a', 'cancelled', { kind: 'approval', since: 150, until: 9_000 })])).toBe(100);
  });

  it('a run with a waiting task is not failed for its age; only waits past deadline + grace are overdue', () => {
    const tasks = [
      task('asked', 'waiting', { kind: 'approval', since: 0, until: 1_000 }),
      task('sleeps', 'waiting', { kind: 'delay', since: 0, until: 5_000 }),
      task('answered', 'queued', { kind: 'approval', since: 0, until: 500, ended_at: 400 }),
    ];
    expect(hasWaitingTask(tasks)).toBe(true);
    expect(hasWaitingTask([tasks[2] as WaitView])).toBe(false);
    expect(overdueWaits(tasks, 1_099, 100)).toEqual([]);
    expect(overdueWaits(tasks, 1_100, 100).map((t) => t.task_id)).toEqual(['asked']);
    expect(overdueWaits(tasks, 9_000, 100).map((t) => t.task_id)).toEqual(['asked', 'sleeps']);
  });
});
