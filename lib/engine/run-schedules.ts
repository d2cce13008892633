/**
 * `runSchedules`, every minute: starts the runs of due schedules, at most one per schedule slot
 * whatever the retries or overlapping invocations.
 *
 *   - Due schedules (next slot at or before now, every tenant) are read by index, in bounded
 *     pages in (next_run_at, id) order, and handled a few at a time.
 *   - The run of a slot has a peid derived from (schedule, slot): writing it is the claim. A
 *     second invocation (or a retry after a crash) finds that run already there and starts
 *     nothing; whichever moves the schedule off the slot (a conditional update on next_run_at)
 *     sends the run's root tasks if it did not write the run itself (the writer may have died
 *     before sending; a duplicate root message is harmless, the task claim runs it once).
 *   - A late invocation starts the slot it finds once, then moves to the first slot after now:
 *     slots in between are not caught up (nor are slots missed while disabled, see schedules.ts).
 *   - A playbook that is gone or inactive gets no run for the slot; the schedule records why.
 */
import { SYSTEM_ACTORS } from '../domain/audit.js';
import { derivedUuid } from '../domain/derived-id.js';
import { nextSlot } from '../domain/schedule-time.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { recordAudit } from './audit.js';
import { executionSource, runStarted } from './audit-entries.js';
import type { AuditOutbox } from './ports/audit.js';
import type { PlaybookSource } from './ports/playbook-source.js';
import type { RunRecords } from './ports/run-records.js';
import type { DueCursor, ScheduleLastRun, ScheduleStore, StoredSchedule } from './ports/schedules.js';
import type { TaskQueue } from './ports/task-queue.js';
import { planRun } from './start-run.js';

export interface RunSchedulesDeps {
  schedules: ScheduleStore;
  /** Current definitions (the run-start cache). */
  playbooks: PlaybookSource;
  runs: Pick<RunRecords, 'insertRun'>;
  queue: TaskQueue;
  /** Where the entries of the runs started go (actor `schedule`). */
  audit: AuditOutbox;
  clock: () => number;
  /** Due schedules read per page, and handled at once. */
  pageSize: number;
  concurrency: number;
}

export interface RunSchedulesReport {
  /** Slots found due. */
  due: number;
  /** Runs started by this invocation. */
  started: number;
  /** Slots already started by another invocation (or an earlier try of this one). */
  already: number;
  /** Slots without a run: the playbook is gone or inactive. */
  skipped: number;
  /** Slots that could not be handled now (left due: the next invocation tries again). */
  failed: number;
  /** True when the time budget ended the sweep before every due schedule was seen. */
  truncated: boolean;
}

/** The peid of the run of one slot of one schedule. */
export function slotPeid(scheduleId: string, slot: number): string {
  return derivedUuid(`schedule:${scheduleId}:${slot}`);
}

/** The alert id of a scheduled run: the slot's time. */
function slotAlertId(slot: number): string {
  return `schedule:${new Date(slot).toISOString()}`;
}

type Outcome = 'started' | 'already' | 'skipped' | 'failed';

async function fire(deps: RunSchedulesDeps, s: StoredSchedule & { id: string }, now: number): Promise<Outcome> {
  const slot = s.next_run_at as number;
  const next = nextSlot(s, Math.max(slot, now));
  const last = (extra: Omit<ScheduleLastRun, 'slot' | 'at'>): ScheduleLastRun => ({ slot, at: now, ...extra });
  const playbook = await deps.playbooks.getByName(s.tenant_code, s.playbook_name);
  if (playbook?.status !== 'active') {
    const error = playbook
      ? { code: 'PLAYBOOK_INACTIVE', message: `playbook '${s.playbook_name}' is inactive` }
      : { code: 'PLAYBOOK_NOT_FOUND', message: `playbook '${s.playbook_name}' not found` };
    await deps.schedules.advance(s.id, slot, next, last({ error }));
    return 'skipped';
  }
  const peid = slotPeid(s.id, slot);
  const plan = planRun(
    playbook,
    { playbook_name: s.playbook_name, alert_id: slotAlertId(slot), alert: JSON.parse(s.alert_json) },
    { tenant_code: s.tenant_code, sub: SYSTEM_ACTORS.schedule },
    peid,
    now,
    { trigger: { type: 'schedule', slot }, mode: 'live' },
  );
  // A failure to write or to send leaves the slot due: the next invocation finds the run (or
  // writes it), moves the schedule on and sends the roots. The run carries its audit entry: only
  // the invocation that writes the slot's run records it.
  const entry = runStarted(plan.exec, SYSTEM_ACTORS.schedule);
  const wrote = await deps.runs.insertRun({ ...plan.exec, audit_pending: [entry] }, plan.tasks);
  if (wrote) {
    await Promise.all([recordAudit(deps.audit, executionSource(plan.exec), entry), deps.queue.send(plan.roots)]);
    metrics.addMetric('RunsStarted', MetricUnit.Count, 1);
  }
  const moved = await deps.schedules.advance(s.id, slot, next, last({ peid }));
  if (wrote) return 'started';
  // Another invocation wrote this slot's run. If it has not moved the schedule on, it may have died
  // before sending the roots: whoever moves the schedule sends them (again).
  if (moved) await deps.queue.send(plan.roots);
  return 'already';
}

/** One sweep over the due schedules, until none is left or `deadline` (epoch ms) comes. */
export async function runSchedules(deps: RunSchedulesDeps, deadline: number): Promise<RunSchedulesReport> {
  const report: RunSchedulesReport = { due: 0, started: 0, already: 0, skipped: 0, failed: 0, truncated: false };
  const now = deps.clock();
  let after: DueCursor | undefined;
  for (;;) {
    if (deps.clock() >= deadline) {
      report.truncated = true;
      break;
    }
    const page = await deps.schedules.due(now, deps.pageSize, after);
    if (page.length === 0) break;
    report.due += page.length;
    for (let i = 0; i < page.length; i += deps.concurrency) {
      const chunk = page.slice(i, i + deps.concurrency);
      const outcomes = await Promise.all(
        chunk.map((s) =>
          fire(deps, s, now).catch((err: unknown): Outcome => {
            logger.error('scheduled run not started, left due', {
              tenant_code: s.tenant_code,
              playbook_name: s.playbook_name,
              slot: s.next_run_at,
              error: err as Error,
            });
            return 'failed';
          }),
        ),
      );
      for (const o of outcomes) report[o] += 1;
    }
    const lastOfPage = page[page.length - 1] as StoredSchedule & { id: string };
    after = { next_run_at: lastOfPage.next_run_at as number, id: lastOfPage.id };
    if (page.length < deps.pageSize) break;
  }
  metrics.addMetric('ScheduledRunsStarted', MetricUnit.Count, report.started);
  if (report.skipped > 0) metrics.addMetric('ScheduledRunsSkipped', MetricUnit.Count, report.skipped);
  if (report.failed > 0) metrics.addMetric('ScheduledRunsFailed', MetricUnit.Count, report.failed);
  return report;
}
