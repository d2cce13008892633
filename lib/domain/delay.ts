/**
 * `delay` tasks: `{ seconds }` up to 30 days, or `{ until }` (a template yielding an ISO-8601 time
 * or epoch milliseconds; a past time continues at once). A delay of at most SQS's 900 s waits on
 * the queue (the task's first message is delayed); a longer one, and every `until`, waits in status
 * `waiting` on a durable timer (docs/durable-waits.md). Pure: the caller passes the time.
 */
import type { DelayConfig } from './playbook-schema.js';
import { MAX_DELAY_SECONDS } from './playbook-schema.js';

/** SQS's longest DelaySeconds. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/** The DelaySeconds of a delay task's first message: its seconds when the queue can hold them, else 0. */
export function queueDelaySeconds(config: DelayConfig): number {
  return config.seconds !== undefined && config.seconds <= MAX_QUEUE_DELAY_SECONDS ? config.seconds : 0;
}

/** True when the delay waits on a durable timer rather than on the queue. */
export function needsTimer(config: DelayConfig): boolean {
  return config.seconds === undefined || config.seconds > MAX_QUEUE_DELAY_SECONDS;
}

export type DelayDue = { due_at: number } | { error: { code: string; message: string } };

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * When a delay that starts at `now` ends. `until` is the value its template rendered to: epoch ms
 * (a number, or a string of digits) or an ISO-8601 time; a time in the past ends it at `now`; one
 * further than 30 days, or anything else, is an error (the task fails, it is not retried).
 */
export function delayDueAt(config: DelayConfig, until: unknown, now: number): DelayDue {
  if (config.seconds !== undefined) return { due_at: now + config.seconds * 1_000 };
  let at: number;
  if (typeof until === 'number' && Number.isSafeInteger(until) && until >= 0) at = until;
  else if (typeof until === 'string' && /^\d{1,15}$/.test(until)) at = Number(until);
  else if (typeof until === 'string' && ISO_TIME.test(until) && !Number.isNaN(Date.parse(until)))
    at = Date.parse(until);
  else {
    return {
      error: { code: 'DELAY_INVALID_TIME', message: 'until must be an ISO-8601 time or epoch milliseconds' },
    };
  }
  if (at - now > MAX_DELAY_SECONDS * 1_000) {
    return {
      error: { code: 'DELAY_TOO_LONG', message: `until is more than ${MAX_DELAY_SECONDS} seconds away` },
    };
  }
  return { due_at: Math.max(now, at) };
}
