/**
 * Retry timing: exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"), which spreads retries of many failing tasks instead of syncing them.
 */
import type { RetryPolicy } from './playbook-schema.js';

/** SQS DelaySeconds and visibility changes accept at most 15 minutes. */
export const MAX_RETRY_DELAY_MS = 900_000;
export const MAX_SQS_DELAY_SECONDS = 900;

/**
 * Delay before the next attempt, given the 1-based attempt that just failed:
 * floor(random() * min(max_backoff_ms, backoff_ms * 2^(attempt-1), 900000)).
 */
export function nextRetryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(Number.isFinite(attempt) ? attempt : 1) - 1);
  // 2^exponent overflows to Infinity for absurd attempts; min() then picks a finite cap.
  const cap = Math.min(policy.max_backoff_ms, policy.backoff_ms * 2 ** exponent, MAX_RETRY_DELAY_MS);
  if (!(cap > 0)) return 0;
  const r = random();
  // Guard against a random source outside [0, 1) so the delay stays within [0, cap).
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
  return Math.floor(unit * cap);
}

/** True when the attempt that just failed (1-based) was not the last one the policy allows. */
export function hasAttemptsLeft(policy: RetryPolicy, attempt: number): boolean {
  return attempt < policy.max_attempts;
}

/** Milliseconds to whole SQS delay seconds, rounded and clamped to 0..900. */
export function toDelaySeconds(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(MAX_SQS_DELAY_SECONDS, Math.round(ms / 1000));
}
