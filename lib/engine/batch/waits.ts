/**
 * Durable waits in a batch (docs/approvals.md, docs/durable-waits.md). A claimed `approval` task
 * without an answer, and a claimed `delay` too long for the queue (or with `until`) that has not
 * waited yet, start their wait (lib/engine/start-wait.ts) instead of running: the task moves to
 * `waiting`, its claim released, and no result is written (it stays open on its run). Once
 * answered, timed out or its time reached, the task is queued for its next attempt, which runs
 * through the normal pipeline (run-task.ts applies the answer or ends the delay).
 *
 * A timer's message (`timer` set) is not a claim: it goes to handleTimerMessage (waits.ts), which
 * applies its effect at most once, and is acknowledged whatever the outcome (applied, moot, or
 * early: the timer stays armed and the sweep sends it again); only an exception leaves it on the
 * queue for another receive.
 */
import { needsTimer } from '../../domain/delay.js';
import type { RearmPolicy } from '../../domain/timers.js';
import { logger, MetricUnit, metrics } from '../../observability.js';
import type { ExecutionRecord, TaskMessage, TaskRecord } from '../model.js';
import type { IntegrationClient } from '../ports/integrations.js';
import type { SecretResolver } from '../ports/secrets.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { TimerStore } from '../ports/timers.js';
import type { WaitStore } from '../ports/waits.js';
import type { TemplateContext } from '../run-task.js';
import { startApprovalWait, startDelayWait, type WaitStart } from '../start-wait.js';
import { parseTaskMessage } from '../task-messages.js';
import { handleTimerMessage } from '../waits.js';
import type { BatchItem } from './intake.js';

/** What the engine needs for durable waits besides its queue, clock and integrations. */
export interface BatchWaits {
  store: WaitStore;
  /** How the timers' messages are sent again when they produced no effect. */
  policy: RearmPolicy;
  /** The service's public URL, so `approval.callback_url` is absolute (PUBLIC_BASE_URL). */
  baseUrl?: string;
}

export interface WaitStageDeps {
  queue: TaskQueue;
  clock: () => number;
  newToken: () => string;
  integrations: IntegrationClient;
  secrets?: SecretResolver;
  /** Absent (with `timers`): approvals and timer-waited delays fail with UNSUPPORTED. */
  waits?: BatchWaits;
  timers?: TimerStore;
}

export type WaitToStart = 'approval' | 'delay';

/** The wait a claimed task starts instead of running, if any (an answered approval or a waited delay runs). */
export function waitToStart(task: Pick<TaskRecord, 'def' | 'wait' | 'approval'>): WaitToStart | undefined {
  const def = task.def;
  if (def.type === 'approval') return task.approval?.answer ? undefined : 'approval';
  if (def.type === 'delay' && needsTimer(def.config) && task.wait === undefined) return 'delay';
  return undefined;
}

/** Starts the wait of a task this batch holds (its claim names the batch's token). */
export async function startTaskWait(
  deps: WaitStageDeps,
  kind: WaitToStart,
  task: TaskRecord,
  exec: ExecutionRecord,
  ctx: TemplateContext,
  deadline: number,
): Promise<WaitStart> {
  const claimToken = task.claim?.token;
  if (!deps.waits || !deps.timers || claimToken === undefined) {
    const error = { code: 'UNSUPPORTED', message: 'durable waits (approvals, long delays) are not enabled' };
    return { status: 'failed', output: null, error, retryable: false };
  }
  const startDeps = {
    waits: deps.waits.store,
    timers: deps.timers,
    queue: deps.queue,
    clock: deps.clock,
    newToken: deps.newToken,
    policy: deps.waits.policy,
    integrations: deps.integrations,
    ...(deps.secrets ? { secrets: deps.secrets } : {}),
    ...(deps.waits.baseUrl ? { baseUrl: deps.waits.baseUrl } : {}),
  };
  const started =
    kind === 'approval'
      ? await startApprovalWait(startDeps, { task, claimToken, playbookName: exec.playbook_name }, ctx, deadline)
      : await startDelayWait(startDeps, { task, claimToken }, ctx, deadline);
  if (started.status === 'waiting') {
    metrics.addMetric(kind === 'approval' ? 'ApprovalsAsked' : 'DelaysWaiting', MetricUnit.Count, 1);
    logger.info('task waits', {
      peid: task.peid,
      tenant_code: task.tenant_code,
      task_id: task.task_id,
      attempt: task.attempts,
      kind,
      until: started.until,
    });
  }
  return started;
}

/** A timer's message of the batch, parsed. */
export interface TimerItem {
  messageId: string;
  message: TaskMessage;
}

/** The batch's timer messages, and the other items (task messages, or not ours: the pipeline reports those). */
export function takeTimerMessages(items: BatchItem[]): { timed: TimerItem[]; rest: BatchItem[] } {
  const timed: TimerItem[] = [];
  const rest: BatchItem[] = [];
  for (const item of items) {
    const message = parseTaskMessage(item.body);
    if (message?.timer !== undefined) timed.push({ messageId: item.messageId, message });
    else rest.push(item);
  }
  return { timed, rest };
}

/**
 * Hands each timer message to handleTimerMessage; never throws. Returns the ids of the messages to
 * receive again: those whose handling failed (SQS redelivers them; a poison one reaches the DLQ).
 */
export async function handleTimerMessages(deps: WaitStageDeps, timed: TimerItem[]): Promise<string[]> {
  if (timed.length === 0) return [];
  const { waits, timers } = deps;
  if (!waits || !timers) {
    logger.error('timer messages received, but durable waits are not enabled', { count: timed.length });
    return timed.map((t) => t.messageId);
  }
  const waitDeps = { waits: waits.store, timers, queue: deps.queue, clock: deps.clock };
  const results = await Promise.allSettled(timed.map((t) => handleTimerMessage(waitDeps, t.message)));
  const failed: string[] = [];
  results.forEach((r, i) => {
    const t = timed[i] as TimerItem;
    if (r.status === 'fulfilled') return;
    failed.push(t.messageId);
    logger.warn('timer message not handled; received again', {
      peid: t.message.peid,
      tenant_code: t.message.tenant_code,
      task_id: t.message.task_id,
      kind: t.message.timer,
      error: r.reason as Error,
    });
  });
  return failed;
}
