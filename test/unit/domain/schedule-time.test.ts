/** Schedule slots with a fixed clock: cron edge cases (month ends, leap days, every minute) and every-N-minutes. */
import { describe, expect, it } from 'vitest';
import { cronProblem, nextSlot } from '../../../lib/domain/schedule-time.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** The next `n` slots after `from`. */
function slots(spec: Parameters<typeof nextSlot>[0], from: string, n: number): Array<string | null> {
  const out: Array<string | null> = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = nextSlot(spec, t);
    out.push(iso(next));
    if (next === null) break;
    t = next;
  }
  return out;
}

describe('cron slots (UTC)', () => {
  it('every minute: the next whole minute, strictly after the given time', () => {
    expect(slots({ cron: '* * * * *' }, '2026-03-31T23:58:00.000Z', 3)).toEqual([
      '2026-03-31T23:59:00.000Z',
      '2026-04-01T00:00:00.000Z',
      '2026-04-01T00:01:00.000Z',
    ]);
    expect(iso(nextSlot({ cron: '* * * * *' }, at('2026-01-01T00:00:59.999Z')))).toBe('2026-01-01T00:01:00.000Z');
    expect(iso(nextSlot({ cron: '* * * * *' }, at('2026-01-01T00:01:00.000Z')))).toBe('2026-01-01T00:02:00.000Z');
  });

  it('day 31 skips the months without one; L is the last day of each month', () => {
    expect(slots({ cron: '0 0 31 * *' }, '2026-01-31T00:00:00.000Z', 4)).toEqual([
      '2026-03-31T00:00:00.000Z',
      '2026-05-31T00:00:00.000Z',
      '2026-07-31T00:00:00.000Z',
      '2026-08-31T00:00:00.000Z',
    ]);
    expect(slots({ cron: '30 23 L * *' }, '2026-01-31T23:30:00.000Z', 4)).toEqual([
      '2026-02-28T23:30:00.000Z',
      '2026-03-31T23:30:00.000Z',
      '2026-04-30T23:30:00.000Z',
      '2026-05-31T23:30:00.000Z',
    ]);
    expect(iso(nextSlot({ cron: '0 12 L 2 *' }, at('2027-03-01T00:00:00.000Z')))).toBe('2028-02-29T12:00:00.000Z');
  });

  it('February 29 fires in leap years only; the year rolls over at the end of December', () => {
    expect(slots({ cron: '0 0 29 2 *' }, '2026-01-01T00:00:00.000Z', 2)).toEqual([
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
    ]);
    expect(iso(nextSlot({ cron: '59 23 31 12 *' }, at('2026-12-31T23:59:00.000Z')))).toBe('2027-12-31T23:59:00.000Z');
    expect(iso(nextSlot({ cron: '0 0 1 1 *' }, at('2026-12-31T23:59:30.000Z')))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('steps, ranges, names and day-of-week (OR-ed with day-of-month, as in Vixie cron)', () => {
    expect(slots({ cron: '*/15 9-10 * * MON-FRI' }, '2026-11-27T10:40:00.000Z', 3)).toEqual([
      '2026-11-27T10:45:00.000Z',
      '2026-11-30T09:00:00.000Z',
      '2026-11-30T09:15:00.000Z',
    ]);
    // The 1st or any Monday.
    expect(slots({ cron: '0 6 1 * 1' }, '2026-02-01T07:00:00.000Z', 2)).toEqual([
      '2026-02-02T06:00:00.000Z',
      '2026-02-09T06:00:00.000Z',
    ]);
  });

  it('refuses what is not a 5-field UTC expression, or never fires, naming why', () => {
    expect(cronProblem('*/15 * * * *')).toBeUndefined();
    expect(cronProblem('0 0 L * *')).toBeUndefined();
    expect(cronProblem('* * * *')).toMatch(/5 fields/);
    expect(cronProblem('0 0 * * * *')).toMatch(/5 fields/);
    expect(cronProblem('@daily')).toMatch(/5 fields/);
    expect(cronProblem('? * * * *')).toMatch(/'\?'/);
    expect(cronProblem('60 * * * *')).toMatch(/minute/i);
    expect(cronProblem('*/0 * * * *')).toBeDefined();
    expect(cronProblem('0 0 30 2 *')).toMatch(/never fires/);
    expect(cronProblem('0 0 31 4,6,9,11 *')).toMatch(/never fires/);
    expect(cronProblem(`${'1,'.repeat(70)}1 * * * *`)).toMatch(/at most/);
  });
});

describe('every N minutes', () => {
  it('counts from the Unix epoch: divisors of 60 land on the clock', () => {
    expect(slots({ every_minutes: 15 }, '2026-03-31T23:44:59.000Z', 3)).toEqual([
      '2026-03-31T23:45:00.000Z',
      '2026-04-01T00:00:00.000Z',
      '2026-04-01T00:15:00.000Z',
    ]);
    expect(slots({ every_minutes: 1 }, '2026-02-28T23:59:00.000Z', 2)).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-01T00:01:00.000Z',
    ]);
    expect(iso(nextSlot({ every_minutes: 1440 }, at('2028-02-28T00:00:00.000Z')))).toBe('2028-02-29T00:00:00.000Z');
    expect(iso(nextSlot({ every_minutes: 7 }, 0))).toBe('1970-01-01T00:07:00.000Z');
  });
});
