/**
 * The reaper: finds running executions without progress for longer than a
 * bound and unsticks them. Queued tasks (and loop items) whose message was lost
 * and claimed ones whose worker died (lease expired) are sent again —
 * idempotently, the claim dedupes —, undecided dependents of finished tasks are
 * decided, a task waiting for a child run that has ended is woken again (its
 * wake-up was lost), a sub-playbook run whose parent has ended is cancelled,
 * a task `waiting` past its deadline whose timer never acted is fired
 * (reap-waits.ts), and a run older than the maximum age is failed, unless one
 * of its tasks waits (its age counts from its last wait's end). A run whose
 * open tasks all wait before their deadlines is healthy: only looked at (its
 * queued tasks, e.g. an answered approval whose message was lost, are still
 * re-sent). Finished runs are never
 * touched. Runs are read without outputs or item values, and each is handled
 * on its own: one that cannot be handled is logged and counted, the sweep goes on.
 */
import { isTerminalTask } from '../domain/statuses.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { planFanIn } from './batch/fan-in.js';
import { type ExecutionRecord, isWaitingForChild, leaseExpired, taskKey } from './model.js';
import type { RunEnds } from './ports/run-ends.js';
import type { ItemState, RunRecords } from './ports/run-records.js';
import type { StaleRunFinder } from './ports/stale-runs.js';
import type { TaskClaims } from './ports/task-claims.js';
import type { OutgoingTaskMessage, TaskQueue } from './ports/task-queue.js';
import type { TimerStore } from './ports/timers.js';
import type { WaitStore } from './ports/waits.js';
import { ageStart, fireOverdueWaits, hasWaitingTask, overdueWaits } from './reap-waits.js';
import { closeAndComplete, endRun, PARENT_ENDED } from './run-lifecycle.js';
import { taskMessage } from './task-messages.js';

export interface ReapDeps {
  runs: RunRecords & RunEnds & Pick<TaskClaims, 'transitionPending'>;
  stale: StaleRunFinder;
  queue: TaskQueue;
  clock: () => number;
  newToken: () => string;
  /** Tasks in status `waiting` and their timers (without them, overdue waits are left to their timers). */
  waits?: WaitStore;
  timers?: TimerStore;
}

export interface ReapOptions {
  /** A run (and a queued task) without progress for this long is examined. */
  staleAfterMs: number;
  /** A run older than this is failed (RUN_TIMEOUT), unless a task of it waits; waiting time does not count. */
  maxRunAgeMs: number;
  /** Runs examined per invocation. */
  limit: number;
  /** A waiting task this long past its deadline has lost its timer: the reaper fires it (default 0). */
  waitGraceMs?: number;
}

export interface ReapReport {
  examined: number;
  /** Task messages sent again (lost, dead worker, undecided dependents, woken waits). */
  requeued: number;
  decided: number;
  completed: number;
  timedOut: number;
  /** Tasks woken again because the child run they waited for had ended. */
  resumed: number;
  /** Sub-playbook runs cancelled because their parent had ended. */
  stopped: number;
  /** Waiting tasks past their deadline (and grace) whose timeout or delay end this sweep applied. */
  fired: number;
  /** Runs that could not be handled (logged); the others were. */
  failed: number;
}

/** One sweep of the reaper. */
export async function reapRuns(deps: ReapDeps, opts: ReapOptions): Promise<ReapReport> {
  const now = deps.clock();
  const report: ReapReport = {
    examined: 0,
    requeued: 0,
    decided: 0,
    completed: 0,
    timedOut: 0,
    resumed: 0,
    stopped: 0,
    fired: 0,
    failed: 0,
  };
  const stale = await deps.stale.findStaleRuns(now - opts.staleAfterMs, opts.limit);
  for (const exec of stale) {
    report.examined += 1;
    try {
      await reapRun(deps, opts, exec, now, report);
    } catch (err) {
      report.failed += 1;
      logger.error('reaper could not handle a run; the sweep goes on', {
        peid: exec.peid,
        tenant_code: exec.tenant_code,
        error: err as Error,
      });
    }
  }
  metrics.addMetric('RunsReaped', MetricUnit.Count, report.examined);
  return report;
}

async function reapRun(
  deps: ReapDeps,
  opts: ReapOptions,
  exec: ExecutionRecord,
  now: number,
  report: ReapReport,
): Promise<void> {
  const ref = { tenant_code: exec.tenant_code, peid: exec.peid };
  const [tasks, items] = await Promise.all([
    deps.runs.listGraphTasks(ref, { outputs: false }),
    deps.runs.listItemStates(ref),
  ]);
  const all = [...tasks, ...items];
  // Waiting for a person or a timer is not a stall: such a run's age counts from its last wait's end.
  if (!hasWaitingTask(all) && now - ageStart(exec.createddate, all) > opts.maxRunAgeMs) {
    const error = { code: 'RUN_TIMEOUT', message: `run exceeded ${opts.maxRunAgeMs} ms` };
    if (await endRun(deps, exec, 'failed', now, error)) report.timedOut += 1;
    return;
  }
  if (exec.parent) {
    // Its parent's end cancels it; a cascade cut short leaves it running.
    const parent = await deps.runs.getExecution({ tenant_code: exec.tenant_code, peid: exec.parent.peid });
    if (parent?.execution_status !== 'running') {
      const error = { code: PARENT_ENDED, message: 'the run that started it ended' };
      if (await endRun(deps, exec, 'cancelled', now, error, { wake: false })) report.stopped += 1;
      return;
    }
  }
  const messages = new Map<string, OutgoingTaskMessage>();
  for (const t of all) {
    // Queued long ago and never claimed: its message was lost (delays are at most 900 s, below the bound).
    if (t.status === 'queued' && now - t.updateddate > opts.staleAfterMs) {
      messages.set(taskKey(t.peid, t.task_id), taskMessage(t, t.attempts + 1, 0));
    }
    // Claimed by a worker that died: its lease ran out; the same attempt may be taken over.
    if (leaseExpired(t, now)) {
      messages.set(taskKey(t.peid, t.task_id), taskMessage(t, t.attempts, 0));
    }
  }
  for (const t of await endedWaits(deps.runs, ref, all)) {
    messages.set(taskKey(t.peid, t.task_id), taskMessage(t, t.attempts, 0));
    report.resumed += 1;
  }
  // Waits past their deadline whose timer never acted (it sends the task's next attempt itself).
  const overdue = overdueWaits(all, now, opts.waitGraceMs ?? 0);
  if (overdue.length > 0 && deps.waits && deps.timers) {
    const waitDeps = { waits: deps.waits, timers: deps.timers, queue: deps.queue, clock: deps.clock };
    report.fired += await fireOverdueWaits(waitDeps, overdue);
  }
  // Dependents of finished tasks that were never decided (a crash between result and fan-in).
  const finished = new Set(tasks.filter((t) => isTerminalTask(t.status)).map((t) => t.task_id));
  const plan = planFanIn([exec], tasks, new Map(), new Map([[exec.peid, finished]]));
  const won = await deps.runs.transitionPending(plan.transitions, deps.newToken(), now);
  const closed = tasks.filter((t) => isTerminalTask(t.status)).map((t) => ({ task_id: t.task_id, status: t.status }));
  for (const t of plan.transitions) {
    if (!won.has(taskKey(t.peid, t.task_id))) continue;
    report.decided += 1;
    if (t.to === 'queued')
      messages.set(taskKey(t.peid, t.task_id), taskMessage(t, 1, plan.delayOf.get(taskKey(t.peid, t.task_id)) ?? 0));
    else closed.push({ task_id: t.task_id, status: 'skipped' });
  }
  for (const m of plan.resend) messages.set(taskKey(m.message.peid, m.message.task_id), m);
  await deps.queue.send([...messages.values()]);
  report.requeued += messages.size;
  // Also marks progress, so the next sweep leaves this run alone for another bound.
  if ((await closeAndComplete(deps, exec, closed, now)).completed) report.completed += 1;
  if (messages.size > 0)
    logger.warn('reaper re-enqueued tasks of a stalled run', {
      peid: exec.peid,
      tenant_code: exec.tenant_code,
      count: messages.size,
    });
}

/** The tasks (or items) waiting for a child run that has ended or is gone: their wake-up was lost. */
async function endedWaits(
  runs: Pick<RunEnds, 'childRuns'>,
  ref: { tenant_code: string; peid: string },
  tasks: Array<Pick<ItemState, 'peid' | 'tenant_code' | 'task_id' | 'status' | 'claim' | 'attempts' | 'child_peid'>>,
): Promise<typeof tasks> {
  const waiting = tasks.filter(isWaitingForChild);
  if (waiting.length === 0) return [];
  const children = new Map((await runs.childRuns([ref])).map((c) => [c.peid, c]));
  return waiting.filter((t) => children.get(t.child_peid ?? '')?.execution_status !== 'running');
}
