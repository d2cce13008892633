/**
 * The rules of durable timers (docs/durable-waits.md), pure: a timer's identity, when the sweep
 * arms it, the SQS delay it is sent with, and when an armed timer that produced no effect is sent
 * again (with a backoff, a bounded number of times).
 */
import { derivedUuid } from './derived-id.js';

/**
 * What a timer's message does when it arrives (the consumer's contract, docs/durable-waits.md):
 * an approval's timeout, a delay's end (both end with their run); a containment's undo when its
 * `undo_after_seconds` have passed, and the start of a rollback's undos (docs/containment.md),
 * which outlive their run.
 */
export const TIMER_KINDS = ['approval_timeout', 'delay', 'undo', 'rollback'] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

/** The kinds of timer a run's end cancels: its waits. A containment's undo outlives its run. */
export const RUN_TIMER_KINDS: readonly TimerKind[] = ['approval_timeout', 'delay'];

/** SQS's longest delay: a timer is armed (its delayed message sent) once it is due within this. */
export const ARM_HORIZON_MS = 900_000;

/** The one timer of a kind for one attempt of one task: arming it again finds the same document. */
export function timerId(t: { tenant_code: string; peid: string; task_id: string; attempt: number; kind: TimerKind }) {
  return derivedUuid(JSON.stringify(['timer', t.tenant_code, t.peid, t.task_id, t.attempt, t.kind]));
}

/** When the sweep should arm a pending timer due at `dueAt`: as soon as SQS can hold the rest of the wait. */
export function armAt(dueAt: number): number {
  return dueAt - ARM_HORIZON_MS;
}

/** The DelaySeconds of a timer's message sent at `now`: the rest of the wait, rounded up (never early), 0..900. */
export function armDelaySeconds(dueAt: number, now: number): number {
  return Math.min(ARM_HORIZON_MS / 1_000, Math.max(0, Math.ceil((dueAt - now) / 1_000)));
}

export interface RearmPolicy {
  /** How long after its due time an armed timer's message may take to produce its effect. */
  graceMs: number;
  /** The longest wait between two sends of the same timer. */
  maxBackoffMs: number;
  /** Sends of one timer at most (the first included); then it is abandoned (logged, counted). */
  maxSends: number;
}

/**
 * When the sweep looks again at a timer sent for the `sends`-th time at `now`: its due time (or
 * now, if later) plus the grace, doubled for each send after the first, at most maxBackoffMs.
 */
export function rearmAt(dueAt: number, now: number, sends: number, policy: RearmPolicy): number {
  const backoff = Math.min(policy.maxBackoffMs, policy.graceMs * 2 ** Math.max(0, sends - 1));
  return Math.max(dueAt, now) + backoff;
}
