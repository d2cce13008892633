/**
 * The results of the tasks a batch ran: each outcome becomes the task's result, or, for a
 * retryable failure with attempts left, its next attempt (queued again with a backoff delay).
 * Pure but for metrics and logs: the writes are made by the caller, in one bulk write.
 */
import { hasAttemptsLeft, nextRetryDelayMs, toDelaySeconds } from '../../domain/retry.js';
import { logger, MetricUnit, metrics } from '../../observability.js';
import { type ExecutionRecord, isGraphTask, type TaskRecord } from '../model.js';
import type { TaskResultWrite } from '../ports/task-claims.js';
import type { OutgoingTaskMessage } from '../ports/task-queue.js';
import { type StoredOutput, storable, type TaskOutcome } from '../run-task.js';
import { taskMessage } from '../task-messages.js';
import { type Fatal, fatalOf } from './fatal.js';

/** A task that ran to an outcome, and when. */
export interface Ran {
  task: TaskRecord;
  outcome: TaskOutcome;
  began: number;
  ended: number;
}

export interface Results {
  writes: TaskResultWrite[];
  /** The retries' messages. */
  retries: OutgoingTaskMessage[];
  /** Graph tasks that finished: the fan-in decides their dependents. */
  finished: TaskRecord[];
  /** Loop items that finished: their loop settles them. */
  itemsDone: TaskRecord[];
  fatal: Fatal[];
}

/** True when a failed outcome is retried: retryable, with attempts left under the task's policy. */
export function retries(task: TaskRecord, outcome: TaskOutcome): boolean {
  return outcome.status === 'failed' && outcome.retryable && hasAttemptsLeft(task.def.retry, task.attempts);
}

/** The delayed message of a task's next attempt (the policy's backoff, with jitter from `random`). */
export function retryMessage(task: TaskRecord, random: () => number): OutgoingTaskMessage {
  const delay = toDelaySeconds(nextRetryDelayMs(task.def.retry, task.attempts, random));
  return taskMessage(task, task.attempts + 1, delay);
}

export function planResults(
  ran: Ran[],
  execs: Map<string, ExecutionRecord>,
  opts: { outputMaxBytes: number; random: () => number },
): Results {
  const out: Results = { writes: [], retries: [], finished: [], itemsDone: [], fatal: [] };
  for (const done of ran) {
    const { task, began, ended } = done;
    // The result is built (serialized) here, per task: one that cannot be stored fails alone.
    const { outcome, stored } = storable(done.outcome, opts.outputMaxBytes);
    const retry = retries(task, outcome);
    recordMetrics(task, outcome, retry, ended - began);
    if (retry) {
      out.writes.push({
        ...resultWrite(task, 'queued', outcome, ended),
        finished_at: null,
        duration_ms: ended - began,
      });
      out.retries.push(retryMessage(task, opts.random));
      continue;
    }
    out.writes.push({ ...resultWrite(task, outcome.status, outcome, ended, stored), duration_ms: ended - began });
    (isGraphTask(task) ? out.finished : out.itemsDone).push(task);
    const fatal = fatalOf(task, execs.get(task.peid) as ExecutionRecord, outcome.status, outcome.error);
    if (fatal) out.fatal.push(fatal);
  }
  return out;
}

/** The write of one task's result (`outcome` null: cancelled before it ran). */
export function resultWrite(
  task: TaskRecord,
  status: TaskResultWrite['status'],
  outcome: TaskOutcome | null,
  now: number,
  capped: StoredOutput | null = null,
): TaskResultWrite {
  return {
    tenant_code: task.tenant_code,
    peid: task.peid,
    task_id: task.task_id,
    status,
    output_json: capped?.output_json ?? null,
    truncated: capped?.truncated ?? false,
    error: outcome?.error ?? null,
    finished_at: now,
    duration_ms: null,
    ...(outcome?.mocked ? { mocked: true as const } : {}),
  };
}

export function recordMetrics(task: TaskRecord, outcome: TaskOutcome, retry: boolean, durationMs: number): void {
  const name = retry ? 'TasksRetried' : `Tasks${outcome.status[0]?.toUpperCase()}${outcome.status.slice(1)}`;
  metrics.addMetric(name, MetricUnit.Count, 1);
  metrics.addMetric('TaskDuration', MetricUnit.Milliseconds, durationMs);
  logger.info('task finished', {
    peid: task.peid,
    tenant_code: task.tenant_code,
    task_id: task.task_id,
    attempt: task.attempts,
    status: retry ? 'retry' : outcome.status,
    error: outcome.error?.code,
    duration_ms: durationMs,
  });
}
