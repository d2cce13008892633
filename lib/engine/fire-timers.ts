/**
 * `fireTimers`, every minute (docs/durable-waits.md): arms the timers that have come within SQS's
 * 900 s of their due time (their delayed message sent with the rest of the wait) and sends again
 * the armed ones whose message produced no effect within their grace. One index range finds them
 * all (any tenant: a system job); pages are bounded and the sweep stops before its deadline.
 * Overlapping invocations are safe: each send is claimed first (timers.ts).
 */
import { MetricUnit, metrics } from '../observability.js';
import type { TimerCursor } from './ports/timers.js';
import { type SendReport, sendTimers, type TimerDeps } from './timers.js';

export interface FireTimersDeps extends TimerDeps {
  /** Timers read (and sent) per page. */
  pageSize: number;
}

export interface FireTimersReport extends SendReport {
  /** Timers found due for arming or sending again. */
  due: number;
  /** True when the deadline ended the sweep before every due timer was seen. */
  truncated: boolean;
}

/** One sweep, until no due timer is left or `deadline` (epoch ms) comes. */
export async function fireTimers(deps: FireTimersDeps, deadline: number): Promise<FireTimersReport> {
  const report: FireTimersReport = { due: 0, sent: 0, lost: 0, abandoned: 0, failed: 0, truncated: false };
  const now = deps.clock();
  let after: TimerCursor | undefined;
  for (;;) {
    if (deps.clock() >= deadline) {
      report.truncated = true;
      break;
    }
    const page = await deps.timers.due(now, deps.pageSize, after);
    if (page.length === 0) break;
    report.due += page.length;
    const sent = await sendTimers(deps, page, now);
    report.sent += sent.sent;
    report.lost += sent.lost;
    report.abandoned += sent.abandoned;
    report.failed += sent.failed;
    const last = page[page.length - 1];
    if (!last || last.sweep_at === null || page.length < deps.pageSize) break;
    after = { sweep_at: last.sweep_at, id: last.id };
  }
  if (report.failed > 0) metrics.addMetric('TimersSendFailed', MetricUnit.Count, report.failed);
  return report;
}
