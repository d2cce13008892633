import { describe, expect, it } from 'vitest';
import { hasAttemptsLeft, nextRetryDelayMs, toDelaySeconds } from '../../../lib/domain/retry.js';

const policy = { max_attempts: 5, backoff_ms: 1000, max_backoff_ms: 60_000 };
const almostOne = () => 0.999999;

describe('nextRetryDelayMs', () => {
  it('is 0 with random 0', () => {
    expect(nextRetryDelayMs(policy, 1, () => 0)).toBe(0);
    expect(nextRetryDelayMs(policy, 7, () => 0)).toBe(0);
  });

  it('grows exponentially below the cap with random ~1', () => {
    expect(nextRetryDelayMs(policy, 1, almostOne)).toBe(999);
    expect(nextRetryDelayMs(policy, 2, almostOne)).toBe(1999);
    expect(nextRetryDelayMs(policy, 3, almostOne)).toBe(3999);
  });

  it('is capped by max_backoff_ms and by 15 minutes', () => {
    expect(nextRetryDelayMs(policy, 10, almostOne)).toBe(59_999);
    expect(nextRetryDelayMs(policy, 10_000, almostOne)).toBe(59_999);
    const big = { max_attempts: 10, backoff_ms: 900_000, max_backoff_ms: 900_000 };
    expect(nextRetryDelayMs(big, 3, () => 1)).toBeLessThan(900_000);
  });

  it('stays within [0, cap) for any random value', () => {
    for (let i = 0; i < 1000; i += 1) {
      const d = nextRetryDelayMs(policy, 4);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(8000);
      expect(Number.isInteger(d)).toBe(true);
    }
    expect(nextRetryDelayMs({ ...policy, backoff_ms: 0 }, 3, almostOne)).toBe(0);
  });
});

describe('hasAttemptsLeft', () => {
  it('allows attempts up to max_attempts', () => {
    expect(hasAttemptsLeft(policy, 4)).toBe(true);
    expect(hasAttemptsLeft(policy, 5)).toBe(false);
    expect(hasAttemptsLeft({ ...policy, max_attempts: 1 }, 1)).toBe(false);
  });
});

describe('toDelaySeconds', () => {
  it('rounds and clamps to 0..900', () => {
    expect(toDelaySeconds(0)).toBe(0);
    expect(toDelaySeconds(499)).toBe(0);
    expect(toDelaySeconds(1500)).toBe(2);
    expect(toDelaySeconds(-5)).toBe(0);
    expect(toDelaySeconds(Number.NaN)).toBe(0);
    expect(toDelaySeconds(10_000_000)).toBe(900);
    expect(toDelaySeconds(Number.POSITIVE_INFINITY)).toBe(900);
  });
});
