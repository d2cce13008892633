/**
 * The reaper: finds running executions without progress for longer than a
 * bound and unsticks them. Queued tasks whose message was lost and claimed
 * tasks whose worker died (lease expired) are sent again — idempotently, the
 * claim dedupes — undecided dependents of finished tasks are decided, and a run
 * older than the maximum age is failed. Finished runs are never touched.
 */
import { isTerminalTask } from '../domain/statuses.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { planFanIn } from './execute-batch.js';
import { type ExecutionRecord, taskKey } from './model.js';
import type { OutgoingTaskMessage, RunStore, TaskQueue } from './ports.js';
import { resumeMessage } from './sub-playbooks.js';
import { taskMessage } from './task-messages.js';

export interface StaleRunFinder {
  /** Running executions whose last progress is older than `cutoff`, oldest first (all tenants). */
  findStaleRuns(cutoff: number, limit: number): Promise<ExecutionRecord[]>;
}

export interface ReapDeps {
  runs: RunStore;
  stale: StaleRunFinder;
  queue: TaskQueue;
  clock: () => number;
  newToken: () => string;
}

export interface ReapOptions {
  /** A run (and a queued task) without progress for this long is examined. */
  staleAfterMs: number;
  /** A run older than this is failed (RUN_TIMEOUT). */
  maxRunAgeMs: number;
  /** Runs examined per invocation. */
  limit: number;
}

export interface ReapReport {
  examined: number;
  requeued: number;
  decided: number;
  completed: number;
  timedOut: number;
}

/** One sweep of the reaper. */
export async function reapRuns(deps: ReapDeps, opts: ReapOptions): Promise<ReapReport> {
  const now = deps.clock();
  const report: ReapReport = { examined: 0, requeued: 0, decided: 0, completed: 0, timedOut: 0 };
  const stale = await deps.stale.findStaleRuns(now - opts.staleAfterMs, opts.limit);
  for (const exec of stale) {
    report.examined += 1;
    const ref = { tenant_code: exec.tenant_code, peid: exec.peid };
    if (now - exec.createddate > opts.maxRunAgeMs) {
      if (
        await deps.runs.finishRun(ref, 'failed', now, exec.createddate, {
          code: 'RUN_TIMEOUT',
          message: `run exceeded ${opts.maxRunAgeMs} ms`,
        })
      ) {
        report.timedOut += 1;
        const wake = resumeMessage(exec);
        if (wake) await deps.queue.send([wake]);
      }
      await deps.runs.cancelOpenTasks(ref, now);
      continue;
    }
    const tasks = await deps.runs.listTasks(ref);
    const messages = new Map<string, OutgoingTaskMessage>();
    for (const t of tasks) {
      // Queued long ago and never claimed: its message was lost (delays are at most 900 s, below the bound).
      if (t.status === 'queued' && now - t.updateddate > opts.staleAfterMs) {
        messages.set(taskKey(t.peid, t.task_id), taskMessage(t, t.attempts + 1, 0));
      }
      // Claimed by a worker that died: its lease ran out; the same attempt may be taken over.
      if (t.status === 'running' && t.claim !== null && t.claim.until < now) {
        messages.set(taskKey(t.peid, t.task_id), taskMessage(t, t.attempts, 0));
      }
    }
    // Dependents of finished tasks that were never decided (a crash between result and fan-in).
    const finished = new Set(tasks.filter((t) => isTerminalTask(t.status)).map((t) => t.task_id));
    const plan = planFanIn([exec], tasks, new Map(), new Map([[exec.peid, finished]]));
    const won = await deps.runs.transitionPending(plan.transitions, deps.newToken(), now);
    const closed = [...finished];
    for (const t of plan.transitions) {
      if (!won.has(taskKey(t.peid, t.task_id))) continue;
      report.decided += 1;
      if (t.to === 'queued')
        messages.set(taskKey(t.peid, t.task_id), taskMessage(t, 1, plan.delayOf.get(taskKey(t.peid, t.task_id)) ?? 0));
      else closed.push(t.task_id);
    }
    for (const m of plan.resend) messages.set(taskKey(m.message.peid, m.message.task_id), m);
    await deps.queue.send([...messages.values()]);
    report.requeued += messages.size;
    // Also marks progress, so the next sweep leaves this run alone for another bound.
    const after = await deps.runs.closeTasks(ref, closed, now);
    if (after && after.execution_status === 'running' && after.open_tasks.length === 0) {
      if (await deps.runs.finishRun(ref, 'completed', now, exec.createddate)) {
        report.completed += 1;
        const wake = resumeMessage(exec);
        if (wake) await deps.queue.send([wake]);
      }
    }
    if (messages.size > 0)
      logger.warn('reaper re-enqueued tasks of a stalled run', {
        peid: exec.peid,
        tenant_code: exec.tenant_code,
        count: messages.size,
      });
  }
  metrics.addMetric('RunsReaped', MetricUnit.Count, report.examined);
  return report;
}
