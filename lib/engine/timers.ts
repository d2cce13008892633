/**
 * Durable timers (docs/durable-waits.md): a wait longer than SQS's 900 s delay, held by no worker.
 *
 *   - Arming writes the timer document first (pending, its message inside it), then, if it is due
 *     within 900 s, sends that message at once with the remaining delay. Arming again finds the
 *     same document (its id is derived from tenant, run, task, attempt and kind).
 *   - fireTimers (every minute, fire-timers.ts) sends the message of each pending timer that has
 *     come within 900 s of its due time, delayed by the rest, and sends again an armed timer whose
 *     message produced no effect within a grace after its due time (backing off, a bounded number
 *     of times, then abandoning it with an error log and a metric).
 *   - Each send is claimed first (a conditional change from the state read), so overlapping sweeps
 *     send a timer once; a send that fails gives the claim back for the next sweep.
 *   - The consumer completes a timer once its message produced its effect, or found nothing to do
 *     (waits.ts). The effect itself is guarded by the task's own conditional transition, so even a
 *     timer sent twice acts once.
 *   - Cancelling a run cancels its open timers (one update by index).
 */
import {
  ARM_HORIZON_MS,
  armAt,
  armDelaySeconds,
  type RearmPolicy,
  rearmAt,
  type TimerKind,
  timerId,
} from '../domain/timers.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import type { RunRef, TaskMessage } from './model.js';
import type { OutgoingTaskMessage, TaskQueue } from './ports/task-queue.js';
import type { TimerClaim, TimerRecord, TimerStore } from './ports/timers.js';

export interface TimerDeps {
  timers: TimerStore;
  queue: TaskQueue;
  clock: () => number;
  newToken: () => string;
  policy: RearmPolicy;
}

/** One attempt of one task, and what its timer does when due. */
export interface TimerSpec {
  tenant_code: string;
  peid: string;
  task_id: string;
  attempt: number;
  kind: TimerKind;
  due_at: number;
}

/**
 * The message a timer sends: the task's message of that attempt, marked with the timer's kind (a
 * containment's timers also carry the mark of the undo's messages, docs/containment.md).
 */
export function timerMessage(spec: Omit<TimerSpec, 'due_at'>): TaskMessage {
  return {
    v: 1,
    tenant_code: spec.tenant_code,
    peid: spec.peid,
    task_id: spec.task_id,
    attempt: spec.attempt,
    timer: spec.kind,
    ...(spec.kind === 'undo' ? { undo: 1 } : {}),
    ...(spec.kind === 'rollback' ? { rollback: true as const } : {}),
  };
}

/** The timer a message was sent by (undefined for a message no timer sent). */
export function timerIdOf(message: TaskMessage): string | undefined {
  return message.timer === undefined ? undefined : timerId({ ...message, kind: message.timer });
}

export interface SendReport {
  /** Messages sent. */
  sent: number;
  /** Timers another sweep claimed first (or completed, or cancelled) since they were read. */
  lost: number;
  /** Timers abandoned: sent their maximum number of times without an effect. */
  abandoned: number;
  /** Timers whose send failed (given back to the next sweep). */
  failed: number;
}

/**
 * Claims and sends `timers` as read at `now`: those sent their maximum number of times are
 * abandoned, the others armed (the first send) or sent again, each by at most one caller.
 */
export async function sendTimers(deps: TimerDeps, timers: TimerRecord[], now: number): Promise<SendReport> {
  const report: SendReport = { sent: 0, lost: 0, abandoned: 0, failed: 0 };
  const seen = (t: TimerRecord) => ({ state: t.state, sends: t.sends, sweep_at: t.sweep_at });
  const exhausted = timers.filter((t) => t.sends >= deps.policy.maxSends);
  if (exhausted.length > 0) {
    await deps.timers.abandon(
      exhausted.map((t) => ({ id: t.id, seen: seen(t) })),
      now,
    );
    for (const t of exhausted) {
      logger.error('timer abandoned: its message was sent the maximum number of times without an effect', {
        timer_id: t.id,
        kind: t.kind,
        tenant_code: t.tenant_code,
        peid: t.peid,
        task_id: t.message.task_id,
        sends: t.sends,
      });
    }
    metrics.addMetric('TimersAbandoned', MetricUnit.Count, exhausted.length);
    report.abandoned = exhausted.length;
  }
  const open = timers.filter((t) => t.sends < deps.policy.maxSends);
  if (open.length === 0) return report;
  const claims: TimerClaim[] = open.map((t) => ({
    id: t.id,
    seen: seen(t),
    next_sweep_at: rearmAt(t.due_at, now, t.sends + 1, deps.policy),
  }));
  const token = deps.newToken();
  const won = await deps.timers.claim(claims, token, now);
  report.lost = open.length - won.size;
  const mine = open.filter((t) => won.has(t.id));
  const messages: OutgoingTaskMessage[] = mine.map((t) => ({
    message: t.message,
    delaySeconds: armDelaySeconds(t.due_at, now),
  }));
  try {
    await deps.queue.send(messages);
  } catch (err) {
    report.failed = mine.length;
    logger.warn('timer messages not sent; given back to the next sweep', { count: mine.length, error: err as Error });
    await deps.timers
      .release(
        claims.filter((c) => won.has(c.id)),
        token,
      )
      .catch((e: unknown) =>
        logger.warn('timer claims not given back; re-sent after their grace', { error: e as Error }),
      );
    return report;
  }
  report.sent = mine.length;
  const resent = mine.filter((t) => t.sends > 0).length;
  if (mine.length > resent) metrics.addMetric('TimersArmed', MetricUnit.Count, mine.length - resent);
  if (resent > 0) metrics.addMetric('TimersResent', MetricUnit.Count, resent);
  return report;
}

/** Records a timer (pending, its message inside it) without sending anything; idempotent. Returns its id. */
export async function recordTimer(deps: Pick<TimerDeps, 'timers' | 'clock'>, spec: TimerSpec): Promise<string> {
  const id = timerId(spec);
  await deps.timers.put(
    {
      id,
      tenant_code: spec.tenant_code,
      peid: spec.peid,
      kind: spec.kind,
      due_at: spec.due_at,
      message: timerMessage(spec),
      sweep_at: armAt(spec.due_at),
    },
    deps.clock(),
  );
  return id;
}

/** Sends a recorded timer's message at once if it is still pending and due within SQS's 900 s (else fireTimers will). */
export async function sendTimerIfDue(deps: TimerDeps, id: string): Promise<TimerRecord | null> {
  const now = deps.clock();
  const timer = await deps.timers.get(id);
  if (timer && timer.state === 'pending' && timer.due_at - now <= ARM_HORIZON_MS) {
    const sent = await sendTimers(deps, [timer], now);
    if (sent.failed > 0) logger.warn('timer recorded; fireTimers sends it', { timer_id: id, kind: timer.kind });
  }
  return timer;
}

/**
 * Arms a timer: records it (before anything may depend on it), then sends its message at once if
 * it is due within SQS's 900 s; later ones are sent by fireTimers. Idempotent.
 */
export async function armTimer(deps: TimerDeps, spec: TimerSpec): Promise<TimerRecord | null> {
  return sendTimerIfDue(deps, await recordTimer(deps, spec));
}

/** Cancels the open timers of a run that end with it (its waits; never a containment's undo); how many. */
export async function cancelRunTimers(timers: TimerStore, ref: RunRef, now: number): Promise<number> {
  return timers.cancelRun({ tenant_code: ref.tenant_code, peid: ref.peid }, now);
}

/** Marks the timer that sent `message` fired: its effect was applied, or there was none to apply. */
export async function completeTimer(timers: TimerStore, message: TaskMessage, now: number): Promise<boolean> {
  const id = timerIdOf(message);
  return id === undefined ? false : timers.complete(id, now);
}
