/**
 * The reaper and durable waits (docs/durable-waits.md). A task in status `waiting` (an approval
 * for its answer, a long delay for its timer) is not stalled before its deadline: a run whose open
 * tasks wait is left running, and RUN_MAX_AGE_MS does not fail it while any of its tasks waits
 * (its age counts again from the end of its last wait). A waiting task whose deadline has passed
 * by more than the timers' grace has lost its timer (abandoned after its sends, or its messages
 * all dead-lettered): the reaper applies the timer's effect itself, through the same conditional
 * transition (handleTimerMessage), so it is fired, not forgotten, and still exactly once.
 */
import type { TimerKind } from '../domain/timers.js';
import type { TaskRecord } from './model.js';
import { timerMessage } from './timers.js';
import { handleTimerMessage, type WaitDeps } from './waits.js';

/** What the reaper needs of a task (graph task or loop item) to judge its wait. */
export type WaitView = Pick<TaskRecord, 'tenant_code' | 'peid' | 'task_id' | 'status' | 'attempts' | 'wait'>;

/** True while some task of the run waits: the run is not failed for its age. */
export function hasWaitingTask(tasks: readonly WaitView[]): boolean {
  return tasks.some((t) => t.status === 'waiting');
}

/**
 * When the run's age starts for RUN_MAX_AGE_MS: its creation, or the end of its last wait (time
 * spent waiting for a person or a timer is not a stall).
 */
export function ageStart(createddate: number, tasks: readonly WaitView[]): number {
  let start = createddate;
  for (const t of tasks) if (t.wait?.ended_at !== undefined && t.wait.ended_at > start) start = t.wait.ended_at;
  return start;
}

/** The waiting tasks whose deadline passed more than `graceMs` before `now`. */
export function overdueWaits(tasks: readonly WaitView[], now: number, graceMs: number): WaitView[] {
  return tasks.filter((t) => t.status === 'waiting' && t.wait !== undefined && t.wait.until + graceMs <= now);
}

/** The timer a waiting task's wait ends by. */
function kindOf(t: WaitView): TimerKind {
  return t.wait?.kind === 'approval' ? 'approval_timeout' : 'delay';
}

/** Applies the timer effect of each overdue wait (at most once each, whoever else tries); how many this call applied. */
export async function fireOverdueWaits(deps: WaitDeps, overdue: readonly WaitView[]): Promise<number> {
  let fired = 0;
  for (const t of overdue) {
    const spec = { tenant_code: t.tenant_code, peid: t.peid, task_id: t.task_id, attempt: t.attempts, kind: kindOf(t) };
    if ((await handleTimerMessage(deps, timerMessage(spec))) === 'applied') fired += 1;
  }
  return fired;
}
