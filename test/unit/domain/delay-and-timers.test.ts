import { describe, expect, it } from 'vitest';
import { delayDueAt, needsTimer, queueDelaySeconds } from '../../../lib/domain/delay.js';
import { ARM_HORIZON_MS, armAt, armDelaySeconds, rearmAt, timerId } from '../../../lib/domain/timers.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');

describe('delays', () => {
  it('up to 900 s wait on the queue; longer ones and until wait on a timer', () => {
    expect(queueDelaySeconds({ seconds: 900 })).toBe(900);
    expect(needsTimer({ seconds: 900 })).toBe(false);
    expect(queueDelaySeconds({ seconds: 901 })).toBe(0);
    expect(needsTimer({ seconds: 901 })).toBe(true);
    expect(queueDelaySeconds({ until: '{{ x }}' })).toBe(0);
    expect(needsTimer({ until: '{{ x }}' })).toBe(true);
  });

  it('the end of a delay: seconds from now, or until an ISO-8601 time or epoch ms; the past is now', () => {
    expect(delayDueAt({ seconds: 1_200 }, undefined, NOW)).toEqual({ due_at: NOW + 1_200_000 });
    expect(delayDueAt({ until: 'x' }, '2030-01-01T01:00:00Z', NOW)).toEqual({ due_at: NOW + 3_600_000 });
    expect(delayDueAt({ until: 'x' }, '2030-01-01T01:00:00.500+01:00', NOW)).toEqual({ due_at: NOW + 500 });
    expect(delayDueAt({ until: 'x' }, NOW + 5_000, NOW)).toEqual({ due_at: NOW + 5_000 });
    expect(delayDueAt({ until: 'x' }, String(NOW + 5_000), NOW)).toEqual({ due_at: NOW + 5_000 });
    expect(delayDueAt({ until: 'x' }, '2020-01-01T00:00:00Z', NOW)).toEqual({ due_at: NOW });
    expect(delayDueAt({ until: 'x' }, 0, NOW)).toEqual({ due_at: NOW });
  });

  it('anything else, or more than 30 days away, is an error', () => {
    for (const bad of ['tomorrow', '', null, undefined, {}, [], -1, 1.5, Number.NaN, '2030-13-45T00:00:00Z']) {
      expect(delayDueAt({ until: 'x' }, bad, NOW), JSON.stringify(bad)).toMatchObject({
        error: { code: 'DELAY_INVALID_TIME' },
      });
    }
    expect(delayDueAt({ until: 'x' }, NOW + 2_592_000_001, NOW)).toMatchObject({ error: { code: 'DELAY_TOO_LONG' } });
    expect(delayDueAt({ until: 'x' }, NOW + 2_592_000_000, NOW)).toEqual({ due_at: NOW + 2_592_000_000 });
  });
});

describe('timer rules', () => {
  const t = { tenant_code: 'acme', peid: 'p', task_id: 'approve', attempt: 1, kind: 'approval_timeout' as const };

  it('one timer per (tenant, run, task, attempt, kind)', () => {
    expect(timerId(t)).toBe(timerId({ ...t }));
    const others = [
      { ...t, tenant_code: 'other' },
      { ...t, peid: 'q' },
      { ...t, task_id: 'x' },
      { ...t, attempt: 2 },
      { ...t, kind: 'delay' as const },
      // No ambiguity from separators inside values.
      { ...t, tenant_code: 'acme","p', peid: 'approve' },
    ];
    expect(new Set([timerId(t), ...others.map(timerId)]).size).toBe(others.length + 1);
  });

  it('armed as soon as SQS can hold the rest of the wait, with that delay rounded up', () => {
    expect(armAt(NOW)).toBe(NOW - ARM_HORIZON_MS);
    expect(armDelaySeconds(NOW + 900_000, NOW)).toBe(900);
    expect(armDelaySeconds(NOW + 899_001, NOW)).toBe(900);
    expect(armDelaySeconds(NOW + 1, NOW)).toBe(1);
    expect(armDelaySeconds(NOW, NOW)).toBe(0);
    expect(armDelaySeconds(NOW - 60_000, NOW)).toBe(0);
    expect(armDelaySeconds(NOW + 86_400_000, NOW)).toBe(900);
  });

  it('an armed timer without effect is looked at again after a grace that doubles, up to a bound', () => {
    const policy = { graceMs: 300_000, maxBackoffMs: 3_600_000, maxSends: 6 };
    expect(rearmAt(NOW, NOW - 1_000, 1, policy)).toBe(NOW + 300_000);
    expect(rearmAt(NOW, NOW + 10_000, 1, policy)).toBe(NOW + 10_000 + 300_000);
    expect(rearmAt(NOW, NOW, 2, policy)).toBe(NOW + 600_000);
    expect(rearmAt(NOW, NOW, 3, policy)).toBe(NOW + 1_200_000);
    expect(rearmAt(NOW, NOW, 9, policy)).toBe(NOW + 3_600_000);
  });
});
