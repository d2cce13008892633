/**
 * Durable timers (docs/durable-waits.md): one document per (tenant, run, task, attempt, kind),
 * holding the task message it sends when due. The sweep (lib/engine/fire-timers.ts) finds the
 * timers it must act on by one index range (`sweep_at`); every state change is conditional.
 */
import type { TimerKind } from '../../domain/timers.js';
import type { RunRef, TaskMessage } from '../model.js';

/**
 * pending: recorded, its message not sent yet (due beyond SQS's 900 s, or not yet handed over);
 * armed: its delayed message was sent (`sends` times); fired: the message produced its effect
 * (or found nothing left to do); cancelled: its run ended; abandoned: sent the maximum number of
 * times without an effect (logged and counted).
 */
export type TimerState = 'pending' | 'armed' | 'fired' | 'cancelled' | 'abandoned';

export interface TimerRecord {
  id: string;
  tenant_code: string;
  peid: string;
  kind: TimerKind;
  due_at: number;
  /** The task message it sends (a normal task message plus `timer: kind`). */
  message: TaskMessage;
  state: TimerState;
  /** When the sweep acts on it next: its arming time while pending, its re-send time while armed; null once done. */
  sweep_at: number | null;
  /** Messages sent so far. */
  sends: number;
  armed_at: number | null;
  created_at: number;
}

/** What arming records: the timer's identity, due time and message. */
export type TimerInput = Pick<TimerRecord, 'id' | 'tenant_code' | 'peid' | 'kind' | 'due_at' | 'message' | 'sweep_at'>;

/** A claim to send a timer: only if it is still as the sweep read it. */
export interface TimerClaim {
  id: string;
  seen: Pick<TimerRecord, 'state' | 'sends' | 'sweep_at'>;
  /** Its `sweep_at` once sent: when to send it again if its message produced no effect. */
  next_sweep_at: number;
}

export interface TimerCursor {
  sweep_at: number;
  id: string;
}

export interface TimerStore {
  /**
   * Records a pending timer, or updates the due time and message of one still pending; a done one
   * starts over (its task waits again at that attempt: a redrive); an armed one is left as it is.
   * Repeating it changes nothing.
   */
  put(timer: TimerInput, now: number): Promise<void>;
  get(id: string): Promise<TimerRecord | null>;
  /** Timers to act on (any tenant): pending or armed with `sweep_at` at or before `now`, by sweep_at then id. */
  due(now: number, limit: number, after?: TimerCursor): Promise<TimerRecord[]>;
  /**
   * Moves each claimed timer to armed (one more send, its next sweep_at) only if it is still as
   * seen, so overlapping sweeps send it once; returns the ids this call won.
   */
  claim(claims: TimerClaim[], token: string, now: number): Promise<Set<string>>;
  /** Gives back claims won with `token` whose message could not be sent: the next sweep tries again. */
  release(claims: TimerClaim[], token: string): Promise<void>;
  /** Marks a timer fired (its message did what it had to, or found nothing to do); false if it was not open. */
  complete(id: string, now: number): Promise<boolean>;
  /** Gives up on timers sent their maximum number of times (each only if still as seen). */
  abandon(claims: Array<Pick<TimerClaim, 'id' | 'seen'>>, now: number): Promise<void>;
  /**
   * Cancels every open timer of the run that ends with it (RUN_TIMER_KINDS: its waits, not a
   * containment's undo), with one update served by an index; how many.
   */
  cancelRun(ref: RunRef, now: number): Promise<number>;
}
