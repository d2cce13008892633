/**
 * Playbook schedules: the routes (validation, next_run_at, tenants), and the real runSchedules
 * handler against MongoDB and SQS: one run per slot with two invocations at once, a disabled
 * schedule skipped and not caught up, a missing playbook recorded, a crash between writing a
 * slot's run and moving the schedule on, and a sweep over several pages of due schedules.
 * A slot is made due by moving the schedule's next_run_at into the past in the database.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { scheduleId } from '../../lib/adapters/mongo/schedule-store.js';
import { type RunSchedulesReport, runSchedules as runSchedulesOnce } from '../../lib/engine/run-schedules.js';
import { runSchedulesDeps } from '../../lib/wiring/schedules.js';
import { directDb } from '../reliability/support/fixtures.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { lambdaContext } from '../support/lambda-context.js';

// Small pages, so a sweep over a few dozen due schedules reads several.
process.env.SCHEDULES_PAGE_SIZE = '7';
process.env.SCHEDULES_CONCURRENCY = '3';

const MINUTE = 60_000;
let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
let db: Db;
let sweep: (event: ScheduledEvent, context: Context) => Promise<RunSchedulesReport>;

const event: ScheduledEvent = {
  version: '0',
  id: '7a3c1f52-0d3b-4b8e-9a51-2f1e6c0b9d11',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:000000000000:rule/playbook-service-local-RunSchedulesEventsRuleSchedule1'],
  detail: {},
};
const runSchedules = () => sweep(event, lambdaContext('runSchedules'));

beforeAll(async () => {
  h = await createHarness();
  h.poller({ maxConcurrency: 4 }).start();
  direct = await directDb();
  db = direct.db;
  ({ handler: sweep } = (await import('../../functions/run-schedules.js')) as unknown as { handler: typeof sweep });
  for (const name of ['hourly', 'every', 'paused', 'gone', 'crashy']) {
    await h.createPlaybook({ name, tasks: [{ id: 'echo', type: 'transform', config: { expression: 'alert' } }] });
  }
});
afterAll(async () => {
  await h.close();
  await direct.close();
});

const put = (name: string, body: unknown, token = h.tokenA) =>
  api('PUT', `/playbooks/${name}/schedule`, { token, body });

/** Moves a schedule's next slot to `slot` (a past minute), as time passing would. */
async function makeDue(name: string, slot: number, tenant = 'tenant-a'): Promise<void> {
  await db
    .collection(COLLECTIONS.schedules)
    .updateOne({ _id: scheduleId(tenant, name) as never }, { $set: { next_run_at: slot } });
}

async function scheduledRuns(name: string): Promise<Array<{ peid: string; trigger: { slot: number }; uid: string }>> {
  const res = await api('GET', '/executions', { token: h.tokenA, query: { playbook_name: name, limit: '100' } });
  expect(res.status).toBe(200);
  return (res.body as { items: Array<{ peid: string; trigger: { slot: number }; uid: string }> }).items;
}

const pastMinute = (n: number) => Math.floor(Date.now() / MINUTE) * MINUTE - n * MINUTE;

describe('PUT/GET/DELETE /playbooks/{name}/schedule', () => {
  it('sets a cron or every-N-minutes schedule, answers next_run_at, and replaces it', async () => {
    const before = Date.now();
    const res = await put('hourly', { cron: '0 * * * *', alert: { source: 'cron' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const s = res.body as Record<string, unknown>;
    expect(s).toMatchObject({ playbook_name: 'hourly', cron: '0 * * * *', alert: { source: 'cron' }, enabled: true });
    expect(s.next_run_at as number).toBeGreaterThan(before);
    expect((s.next_run_at as number) % (60 * MINUTE)).toBe(0);
    const got = await api('GET', '/playbooks/hourly/schedule', { token: h.tokenA });
    expect(got.body).toEqual(res.body);
    const replaced = await put('hourly', { every_minutes: 15 });
    expect(replaced.body).toMatchObject({ every_minutes: 15, alert: {}, enabled: true });
    expect((replaced.body as Record<string, unknown>).cron).toBeUndefined();
    expect((replaced.body as { next_run_at: number }).next_run_at % (15 * MINUTE)).toBe(0);
    expect((replaced.body as { created_at: number }).created_at).toBe(s.created_at);
  });

  it('refuses bad schedules naming the field, unknown playbooks and other tenants', async () => {
    const bad: Array<[unknown, string]> = [
      [{ cron: '* * * *' }, 'cron'],
      [{ cron: '0 0 * * * *' }, 'cron'],
      [{ cron: '@hourly' }, 'cron'],
      [{ cron: '? * * * *' }, 'cron'],
      [{ cron: '61 * * * *' }, 'cron'],
      [{ cron: '0 0 30 2 *' }, 'cron'],
      [{ cron: '* * * * *', every_minutes: 5 }, 'cron'],
      [{}, 'cron'],
      [{ every_minutes: 0 }, 'every_minutes'],
      [{ every_minutes: 1.5 }, 'every_minutes'],
      [{ every_minutes: 5, alert: [] }, 'alert'],
      [{ every_minutes: 5, enabled: 'yes' }, 'enabled'],
    ];
    for (const [body, path] of bad) {
      const res = await put('hourly', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(
        (res.body as { error: { details: Array<{ path: string }> } }).error.details.map((d) => d.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    expect((await put('no-such-playbook', { every_minutes: 5 })).status).toBe(404);
    expect((await put('hourly', { every_minutes: 5 }, h.tokenB)).status).toBe(404);
    expect((await api('GET', '/playbooks/hourly/schedule', { token: h.tokenB })).status).toBe(404);
    expect((await api('DELETE', '/playbooks/hourly/schedule', { token: h.tokenB })).status).toBe(404);
    expect((await api('GET', '/playbooks/hourly/schedule', { token: h.tokenA })).status).toBe(200);
  });
});

describe('runSchedules', () => {
  it('starts exactly one run for a slot, whatever two invocations at once do', async () => {
    await put('every', { every_minutes: 1, alert: { kind: 'sweep' } });
    const slot = pastMinute(2);
    await makeDue('every', slot);
    const reports = await Promise.all([runSchedules(), runSchedules()]);
    expect(reports.map((r) => r.started).reduce((a, b) => a + b)).toBe(1);
    const runs = await scheduledRuns('every');
    expect(runs).toHaveLength(1);
    const e = (await h.waitFinished(runs[0]?.peid ?? '')) as unknown as Record<string, unknown> & {
      tasks: Array<{ output: unknown }>;
    };
    expect(e.execution_status).toBe('completed');
    expect(e.trigger).toEqual({ type: 'schedule', slot });
    expect(e.uid).toBe('schedule');
    expect(e.alert_id).toBe(`schedule:${new Date(slot).toISOString()}`);
    expect(e.tasks[0]?.output).toEqual({ kind: 'sweep' });
    const s = (await api('GET', '/playbooks/every/schedule', { token: h.tokenA })).body as Record<string, unknown>;
    expect(s.next_run_at as number).toBeGreaterThan(slot);
    expect(s.last_run).toMatchObject({ slot, peid: runs[0]?.peid });
    // Again, with the schedule put back on the same slot (a retry): still one run.
    await makeDue('every', slot);
    expect((await runSchedules()).started).toBe(0);
    expect(await scheduledRuns('every')).toHaveLength(1);
  });

  it('two sweeps that both read the slot as due (forced overlap) start one run between them', async () => {
    await put('every', { every_minutes: 1 });
    const slot = pastMinute(7);
    await makeDue('every', slot);
    const deps = runSchedulesDeps();
    // Both sweeps get their first page before either handles it: the real store, read twice, then released.
    let release: () => void = () => undefined;
    const bothRead = new Promise<void>((r) => {
      release = r;
    });
    let reads = 0;
    const schedules = {
      ...deps.schedules,
      due: async (...args: Parameters<typeof deps.schedules.due>) => {
        const page = await deps.schedules.due(...args);
        if (args[2] === undefined && ++reads === 2) release();
        if (args[2] === undefined) await bothRead;
        return page;
      },
    };
    const deadline = Date.now() + 30_000;
    const reports = await Promise.all([
      runSchedulesOnce({ ...deps, schedules }, deadline),
      runSchedulesOnce({ ...deps, schedules }, deadline),
    ]);
    expect(reports.map((r) => r.due)).toEqual([1, 1]);
    expect(reports.map((r) => r.started).sort()).toEqual([0, 1]);
    expect(reports.map((r) => r.already).sort()).toEqual([0, 1]);
    const runs = (await scheduledRuns('every')).filter((r) => r.trigger.slot === slot);
    expect(runs).toHaveLength(1);
    expect((await h.waitFinished(runs[0]?.peid ?? '')).execution_status).toBe('completed');
  });

  it('skips a disabled schedule, and does not catch up the slots it missed', async () => {
    const disabled = await put('paused', { every_minutes: 1, enabled: false });
    expect(disabled.body).toMatchObject({ enabled: false, next_run_at: null });
    await runSchedules();
    expect(await scheduledRuns('paused')).toHaveLength(0);
    const enabled = await put('paused', { every_minutes: 1, enabled: true });
    expect((enabled.body as { next_run_at: number }).next_run_at).toBeGreaterThan(Date.now());
    await runSchedules();
    expect(await scheduledRuns('paused')).toHaveLength(0);
  });

  it('records a slot of a deleted playbook as skipped and moves on', async () => {
    await put('gone', { every_minutes: 5 });
    expect((await api('DELETE', '/playbooks/gone', { token: h.tokenA })).status).toBe(204);
    const slot = pastMinute(10);
    await makeDue('gone', slot);
    await runSchedules();
    const s = (await api('GET', '/playbooks/gone/schedule', { token: h.tokenA })).body as Record<string, unknown>;
    expect(s.last_run).toMatchObject({ slot, error: { code: 'PLAYBOOK_NOT_FOUND' } });
    expect(s.next_run_at as number).toBeGreaterThan(Date.now());
    expect((await api('DELETE', '/playbooks/gone/schedule', { token: h.tokenA })).status).toBe(204);
    expect((await api('GET', '/playbooks/gone/schedule', { token: h.tokenA })).status).toBe(404);
  });

  it('a slot whose run was written but whose schedule was not moved on is completed, not started twice', async () => {
    await put('crashy', { every_minutes: 1 });
    const slot = pastMinute(3);
    await makeDue('crashy', slot);
    await runSchedules();
    const [run] = await scheduledRuns('crashy');
    await h.waitFinished(run?.peid ?? '');
    // As if the invocation had died after writing the run: the schedule is still on the slot.
    await makeDue('crashy', slot);
    const report = await runSchedules();
    expect(report.already).toBe(1);
    expect(report.started).toBe(0);
    const runs = await scheduledRuns('crashy');
    expect(runs.map((r) => r.peid)).toEqual([run?.peid]);
    expect((await h.execution(run?.peid ?? '')).execution_status).toBe('completed');
  });

  it('sweeps every due schedule over several pages, each once', async () => {
    // Only this test's schedules: the earlier tests' every-minute schedules come due again as the
    // minutes pass (on a slow machine, during this test), and the sweep's counts are global.
    await db.collection(COLLECTIONS.schedules).deleteMany({});
    const names = Array.from({ length: 20 }, (_, i) => `bulk-${i}`);
    for (const name of names) {
      await h.createPlaybook({ name, tasks: [{ id: 'n', type: 'noop' }] });
      await put(name, { cron: '*/5 * * * *' });
    }
    const slots = names.map((_, i) => pastMinute(30 + (i % 4)));
    await Promise.all(names.map((n, i) => makeDue(n, slots[i] as number)));
    const report = await runSchedules();
    expect(report).toMatchObject({ due: 20, started: 20, failed: 0, truncated: false });
    for (const [i, name] of names.entries()) {
      const runs = await scheduledRuns(name);
      expect(
        runs.map((r) => r.trigger.slot),
        name,
      ).toEqual([slots[i]]);
    }
    expect((await runSchedules()).due).toBe(0);
  });
});
