/**
 * How a run ends, in one place. Its status changes once (finishRun, conditional on `running`);
 * then, each step idempotent: its unstarted tasks (and tasks waiting on loop items, a child run,
 * an answer or a timer, their callback tokens with them) are cancelled, its sub-playbook runs
 * still running are cancelled through every level (`PARENT_ENDED`), its durable timers are
 * cancelled (unless it completed), and the parent task waiting for it (on a sub-playbook run) is woken.
 *
 * The steps after the status change run again whenever ending the run is attempted again: a
 * redelivered task message of the ended run, a retried cancel, a dead letter handed over again.
 * So a failure between "state changed" and "message sent" is repaired by the retry, and the
 * reaper repairs what no retry reaches (a waiting task whose child ended, a child whose parent
 * ended: reap-runs.ts). A wake-up sent twice is harmless: the waiting task resumes once.
 */
import type { AuditEntry } from './audit.js';
import { type ExecutionRecord, type RunRef, runDone, type TaskError } from './model.js';
import type { ClosedRun, RunEnds, TaskEnd } from './ports/run-ends.js';
import type { RunRecords } from './ports/run-records.js';
import type { OutgoingTaskMessage, TaskQueue } from './ports/task-queue.js';
import type { TimerStore } from './ports/timers.js';
import { taskMessage } from './task-messages.js';

export interface LifecycleDeps {
  runs: RunEnds;
  queue: TaskQueue;
  /** The run's durable timers (approval timeouts, long delays), cancelled when it ends. */
  timers?: Pick<TimerStore, 'cancelRun'>;
}

export type EndStatus = 'completed' | 'failed' | 'cancelled';

/** What ending a run needs to know of it. */
export type RunToEnd = Pick<ExecutionRecord, 'tenant_code' | 'peid' | 'createddate' | 'parent'>;

/** The error of a sub-playbook run stopped because a run above it ended. */
export const PARENT_ENDED = 'PARENT_ENDED';

/** Levels of sub-playbooks a cascade walks at most (nesting is limited far below). */
const MAX_LEVELS = 32;

function refOf(run: RunRef): RunRef {
  return { tenant_code: run.tenant_code, peid: run.peid };
}

/**
 * Ends `run` with `status` (once, whoever tries) and does what follows; true if this call changed
 * the status. `wake: false` when the parent is known to have ended (a cascade); `audit`, an entry
 * written with the status change (the caller publishes it when this call won).
 */
export async function endRun(
  deps: LifecycleDeps,
  run: RunToEnd,
  status: EndStatus,
  now: number,
  error?: TaskError,
  opts: { wake: boolean; audit?: AuditEntry } = { wake: true },
): Promise<boolean> {
  const won = await deps.runs.finishRun(refOf(run), status, now, run.createddate, error, opts.audit);
  await afterEnd(deps, run, status, now, opts);
  return won;
}

/**
 * Closes ended tasks on their run: the call that empties its open set completes the run (once,
 * whoever closes last), in the same update where the store can (`believedOpen`: the open set the
 * caller last saw), else with finishRun. `completed`: this call completed it.
 */
export async function closeAndComplete(
  deps: LifecycleDeps,
  run: RunToEnd,
  ends: TaskEnd[],
  now: number,
  believedOpen?: readonly string[],
): Promise<{ closed: ClosedRun | null; completed: boolean }> {
  const complete = { createddate: run.createddate, ...(believedOpen ? { believedOpen } : {}) };
  const closed = await deps.runs.closeTasks(refOf(run), ends, now, complete);
  if (!closed) return { closed, completed: false };
  if (closed.completed) {
    await afterEnd(deps, run, 'completed', now);
    return { closed, completed: true };
  }
  return { closed, completed: runDone(closed.after) && (await endRun(deps, run, 'completed', now)) };
}

/** What follows a run's end with `status`; called again to repair an end whose steps were cut short. */
export async function afterEnd(
  deps: LifecycleDeps,
  run: RunToEnd,
  status: EndStatus,
  now: number,
  opts: { wake: boolean } = { wake: true },
): Promise<void> {
  if (status !== 'completed') {
    await deps.runs.cancelOpenTasks([refOf(run)], now);
    // The timers of its waiting tasks (now cancelled) end with it; a timer's message already on its
    // way finds nothing to do. A completed run has none left open: each was fired, or completed
    // when its approval was answered first.
    await Promise.all([
      stopChildRuns(deps.runs, [refOf(run)], status, now, deps.timers),
      deps.timers?.cancelRun(refOf(run), now),
    ]);
  }
  const wake = opts.wake ? resumeMessage(run) : undefined;
  if (wake) await deps.queue.send([wake]);
}

/**
 * Cancels the sub-playbook runs of `parents` that still run, level by level down the tree (a
 * few bulk operations per level), and cancels their open tasks (and, with `timers`, their
 * durable timers). Children that already ended (other than completed) are walked too, so a
 * cascade cut short is finished by the next one. Returns how many runs this call cancelled.
 */
export async function stopChildRuns(
  runs: RunEnds,
  parents: RunRef[],
  status: Exclude<EndStatus, 'completed'>,
  now: number,
  timers?: Pick<TimerStore, 'cancelRun'>,
): Promise<number> {
  let level = parents;
  let stopped = 0;
  for (let depth = 0; level.length > 0 && depth < MAX_LEVELS; depth++) {
    const children = (await runs.childRuns(level)).filter((c) => c.execution_status !== 'completed');
    if (children.length === 0) break;
    const running = children.filter((c) => c.execution_status === 'running');
    await runs.cancelRuns(running, now, {
      code: PARENT_ENDED,
      message: depth === 0 ? `the run that started it was ${status}` : 'a run above it was cancelled',
    });
    await runs.cancelOpenTasks(children.map(refOf), now);
    if (timers) await Promise.all(children.map((c) => timers.cancelRun(refOf(c), now)));
    stopped += running.length;
    level = children.map(refOf);
  }
  return stopped;
}

/**
 * After tasks of some runs started to wait without a claim (a sub-playbook task for its child, a
 * loop for its items, an approval for its answer, a long delay for its timer): the open tasks of those runs that have ended meanwhile are cancelled. A
 * run's end cancels its open tasks after its status changed; a wait recorded after that
 * cancellation would stay `running` for ever. The wait was recorded before this read, so either
 * the end's cancellation saw it, or this read sees the end.
 */
export async function cancelLateWaits(
  runs: RunEnds & Pick<RunRecords, 'getExecution'>,
  tasks: RunRef[],
  now: number,
): Promise<void> {
  const refs = [...new Map(tasks.map((t) => [t.peid, refOf(t)])).values()];
  if (refs.length === 0) return;
  const execs = await Promise.all(refs.map((r) => runs.getExecution(r)));
  const ended = refs.filter((_, i) => {
    const status = execs[i]?.execution_status;
    return status !== undefined && status !== 'running';
  });
  if (ended.length > 0) await runs.cancelOpenTasks(ended, now);
}

/** The message that wakes the parent task waiting for `run` (a sub-playbook run), if it has one. */
export function resumeMessage(run: Pick<ExecutionRecord, 'tenant_code' | 'parent'>): OutgoingTaskMessage | undefined {
  if (!run.parent) return undefined;
  return taskMessage(
    { tenant_code: run.tenant_code, peid: run.parent.peid, task_id: run.parent.task_id },
    run.parent.attempt,
    0,
  );
}

/**
 * Wakes again the parents of the given runs that have ended: a message of an ended sub-playbook
 * run delivered again (its end's wake-up may have failed after the status changed).
 */
export async function wakeParentsOfEnded(
  queue: TaskQueue,
  runs: Array<Pick<ExecutionRecord, 'tenant_code' | 'parent' | 'execution_status'>>,
): Promise<void> {
  const wakes = runs
    .filter((r) => r.execution_status !== 'running')
    .map(resumeMessage)
    .filter((m): m is OutgoingTaskMessage => m !== undefined);
  if (wakes.length > 0) await queue.send(wakes);
}
