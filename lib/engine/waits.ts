/**
 * What the consumer does with a timer's message (docs/durable-waits.md, "the consumer's
 * contract"): the effect of its kind, at most once, guarded by the task's own conditional
 * transition; then the timer is completed. A message that arrives before its due time changes
 * nothing and leaves the timer armed (the sweep sends it again after its grace), as does one that
 * finds the task still `running` at that attempt (its wait not recorded yet, or its worker died).
 *
 *   approval_timeout: an approval still waiting at that attempt, its deadline reached, records
 *     `on_timeout` as the answer (by `timeout`), or no choice (the task then fails with
 *     APPROVAL_TIMEOUT), and moves to `queued`; the task's next attempt is sent.
 *   delay: a delay still waiting at that attempt, its time reached, moves to `queued`; the task's
 *     next attempt is sent (and succeeds, run-task.ts).
 *
 * A task found already queued at that attempt (the transition happened, its message may have been
 * lost) gets its next attempt's message again: the claim makes a duplicate harmless.
 */
import { timeoutAnswer } from '../domain/approval.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import type { TaskMessage } from './model.js';
import type { TaskQueue } from './ports/task-queue.js';
import type { TimerStore } from './ports/timers.js';
import type { WaitingTask, WaitStore } from './ports/waits.js';
import { taskMessage } from './task-messages.js';
import { completeTimer } from './timers.js';

export interface WaitDeps {
  waits: WaitStore;
  timers: TimerStore;
  queue: TaskQueue;
  clock: () => number;
}

/** applied: this message changed the task; moot: nothing left to do; early: not due yet (left armed). */
export type TimerOutcome = 'applied' | 'moot' | 'early';

/** Handles one message that a timer sent (`message.timer` set). */
export async function handleTimerMessage(deps: WaitDeps, message: TaskMessage): Promise<TimerOutcome> {
  const kind = message.timer;
  if (kind === undefined) throw new Error('not a timer message');
  // A containment's timers carry `undo` or `rollback` and are routed to lib/engine/undo.ts first.
  if (kind === 'undo' || kind === 'rollback') throw new Error(`a ${kind} timer's message is not a wait's`);
  const ref = { tenant_code: message.tenant_code, peid: message.peid, task_id: message.task_id };
  const now = deps.clock();
  const task = await deps.waits.getTask(ref);
  const waitKind = kind === 'approval_timeout' ? 'approval' : 'delay';
  let after: WaitingTask | null = null;
  if (task && task.status === 'waiting' && task.attempts === message.attempt && task.wait?.kind === waitKind) {
    if (task.wait.until > now) return 'early';
    after =
      kind === 'approval_timeout'
        ? await deps.waits.recordTimeout(
            ref,
            message.attempt,
            now,
            timeoutAnswer(task.approval?.on_timeout ?? 'fail', now),
          )
        : await deps.waits.endDelay(ref, message.attempt, now);
  }
  // The wait of this attempt is being recorded (or its worker died before recording it): not due yet
  // for this message; the sweep sends it again after its grace.
  if (task && task.status === 'running' && task.attempts === message.attempt) return 'early';
  // Changed now, or earlier by this timer (or an answer) with its message possibly lost: send the next attempt.
  const current = after ?? (task?.status === 'queued' && task.attempts === message.attempt ? task : null);
  if (current) await deps.queue.send([taskMessage(current, current.attempts + 1, 0)]);
  await completeTimer(deps.timers, message, now);
  if (after) {
    metrics.addMetric(kind === 'approval_timeout' ? 'ApprovalsTimedOut' : 'DelaysEnded', MetricUnit.Count, 1);
    logger.info('timer applied', { kind, peid: message.peid, task_id: message.task_id, attempt: message.attempt });
    return 'applied';
  }
  return 'moot';
}
