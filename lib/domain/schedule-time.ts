/**
 * When a playbook schedule fires: a 5-field cron expression in UTC (minute, hour, day of month,
 * month, day of week; parsed by croner, with its `L`, `W`, `#` and names; day of month and day
 * of week OR-ed as in Vixie cron), or every N minutes counted from the Unix epoch (so divisors of
 * 60 land on the clock: every 15 minutes is :00, :15, :30, :45). Slots are whole minutes.
 */
import { Cron } from 'croner';

export type ScheduleSpec = { cron: string } | { every_minutes: number };

export const MAX_EVERY_MINUTES = 7 * 24 * 60;
export const MAX_CRON_LENGTH = 128;
const MINUTE_MS = 60_000;

function cronOf(expr: string): Cron {
  // No callback and paused: croner only evaluates the pattern, it schedules nothing.
  return new Cron(expr, { mode: '5-part', utcOffset: 0, paused: true });
}

/** Why `expr` is not an accepted cron expression, or undefined when it is. */
export function cronProblem(expr: string): string | undefined {
  if (expr.length > MAX_CRON_LENGTH) return `must be at most ${MAX_CRON_LENGTH} characters`;
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    return 'must have 5 fields (minute hour day-of-month month day-of-week), in UTC';
  }
  // croner reads `?` as "the current time's value", which would make the schedule depend on when it was parsed.
  if (expr.includes('?')) return "'?' is not supported: use '*'";
  let cron: Cron;
  try {
    cron = cronOf(expr);
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).replace(/^CronPattern: /, '');
  }
  if (cron.nextRun(new Date(0)) === null) return 'never fires (no date matches it)';
  return undefined;
}

/** The first slot of `spec` strictly after `after` (epoch ms), or null if there is none. */
export function nextSlot(spec: ScheduleSpec, after: number): number | null {
  if ('every_minutes' in spec) {
    const period = spec.every_minutes * MINUTE_MS;
    return (Math.floor(after / period) + 1) * period;
  }
  const next = cronOf(spec.cron).nextRun(new Date(after));
  return next === null ? null : next.getTime();
}
