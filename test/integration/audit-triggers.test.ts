/**
 * The audit entries of the triggers, through the real handlers: webhook.create and
 * webhook.delete, schedule.set and schedule.delete (the caller as actor, the webhook or schedule
 * as target), run.start by a webhook delivery (actor `webhook:<hook_id>`, none for a replayed
 * delivery) and by a schedule slot (actor `schedule`, none for a second invocation of the slot);
 * nothing for refused requests; tenant isolation; and both-or-neither when the writer of a webhook
 * or schedule change dies between the change and its entry (docs/audit.md).
 */
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { scheduleId } from '../../lib/adapters/mongo/schedule-store.js';
import { getConfig } from '../../lib/config.js';
import { deriveWebhookSecret, signWebhook } from '../../lib/domain/webhook-signature.js';
import { listAudit, sweepAudit } from '../../lib/engine/audit.js';
import { runSchedules } from '../../lib/engine/run-schedules.js';
import { deleteSchedule, setSchedule } from '../../lib/engine/schedules.js';
import { createWebhook, deleteWebhook } from '../../lib/engine/webhooks.js';
import { auditLog } from '../../lib/wiring/audit.js';
import { runSchedulesDeps, scheduleDeps } from '../../lib/wiring/schedules.js';
import { webhookDeps } from '../../lib/wiring/triggers.js';
import { directDb } from '../reliability/support/fixtures.js';
import { api } from '../support/api.js';
import { dieInPublish, inLog, pendingIds } from '../support/audit-faults.js';
import { createHarness, type Harness } from '../support/harness.js';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
let db: Db;
const MINUTE = 60_000;
const grace = () => getConfig('audit').AUDIT_OUTBOX_GRACE_MS;

interface Entry {
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

async function entries(query: Record<string, string> = {}, token = h.tokenA): Promise<Entry[]> {
  const res = await api('GET', '/audit', { token, query: { limit: '200', ...query } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body as { items: Entry[] }).items;
}

interface Hook {
  hook_id: string;
  secret: string;
}

async function createHook(name: string, body: unknown = {}, token = h.tokenA): Promise<Hook> {
  const res = await api('POST', `/playbooks/${name}/webhooks`, { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Hook;
}

async function deliver(hook: Hook, raw: string, delivery?: string) {
  const ts = String(Math.floor(Date.now() / 1000));
  return api('POST', `/hooks/${hook.hook_id}`, {
    headers: {
      'x-playbook-timestamp': ts,
      'x-playbook-signature': signWebhook(hook.secret, ts, Buffer.from(raw)),
      ...(delivery ? { 'x-playbook-delivery': delivery } : {}),
    },
    rawBody: raw,
  });
}

const playbook = (name: string) => ({
  name,
  tasks: [{ id: 'echo', type: 'transform', config: { expression: 'alert' } }],
});

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  db = direct.db;
  for (const name of ['hooked', 'timed', 'crashy']) await h.createPlaybook(playbook(name));
  await h.createPlaybook(playbook('hooked'), h.tokenB);
});
afterAll(async () => {
  await h.close();
  await direct.close();
});

describe('webhooks', () => {
  it('webhook.create and webhook.delete: one entry each, the caller as actor, the hook as target, no secret', async () => {
    const hook = await createHook('hooked', { alert_id: '{{ body.id }}' });
    expect((await api('DELETE', `/playbooks/hooked/webhooks/${hook.hook_id}`, { token: h.tokenA })).status).toBe(204);
    const listed = (await entries()).filter((e) => e.action.startsWith('webhook.'));
    expect(listed.map((e) => [e.action, e.actor, e.target])).toEqual([
      ['webhook.delete', 'analyst-a', `webhook:${hook.hook_id}`],
      ['webhook.create', 'analyst-a', `webhook:${hook.hook_id}`],
    ]);
    expect(listed[1]?.details).toEqual({
      hook_id: hook.hook_id,
      playbook_name: 'hooked',
      maps_alert_id: true,
      maps_alert: false,
    });
    expect(listed[0]?.details).toEqual({ hook_id: hook.hook_id, playbook_name: 'hooked' });
    const stored = await db.collection(COLLECTIONS.audit).find({}).toArray();
    expect(JSON.stringify(stored)).not.toContain(hook.secret);
    // The tombstone is gone once its entry is in the log; the hook's URL answers 401.
    expect(await db.collection(COLLECTIONS.webhooks).countDocuments({ _id: hook.hook_id as never })).toBe(0);
    expect((await deliver(hook, '{}')).status).toBe(401);
    expect(await pendingIds()).toEqual([]);
  });

  it('refused requests record nothing: unknown playbook, bad mapping, unknown or deleted hook, another tenant', async () => {
    const before = (await entries()).length;
    const hook = await createHook('hooked');
    expect((await api('POST', '/playbooks/nope/webhooks', { token: h.tokenA, body: {} })).status).toBe(404);
    const bad = await api('POST', '/playbooks/hooked/webhooks', { token: h.tokenA, body: { alert: '{{ (' } });
    expect(bad.status).toBe(400);
    const unknownHook = 'wh_AAAAAAAAAAAAAAAAAAAAAA';
    expect((await api('DELETE', `/playbooks/hooked/webhooks/${unknownHook}`, { token: h.tokenA })).status).toBe(404);
    expect((await api('DELETE', `/playbooks/hooked/webhooks/${hook.hook_id}`, { token: h.tokenB })).status).toBe(404);
    expect((await api('DELETE', `/playbooks/hooked/webhooks/${hook.hook_id}`, { token: h.tokenA })).status).toBe(204);
    expect((await api('DELETE', `/playbooks/hooked/webhooks/${hook.hook_id}`, { token: h.tokenA })).status).toBe(404);
    expect((await entries()).length).toBe(before + 2);
  });

  it('run.start by a delivery: actor webhook:<hook_id>, trigger webhook; a replayed delivery records nothing', async () => {
    const hook = await createHook('hooked');
    const first = await deliver(hook, '{"n":1}', 'delivery-1');
    expect(first.status).toBe(202);
    const again = await deliver(hook, '{"n":1}', 'delivery-1');
    expect(again.body).toEqual(first.body);
    const peid = (first.body as { peid: string }).peid;
    const starts = (await entries({ action: 'run.start' })).filter((e) => e.target === `execution:${peid}`);
    expect(starts.map((e) => [e.actor, e.details.trigger])).toEqual([[`webhook:${hook.hook_id}`, 'webhook']]);
    // A refused delivery (bad signature) starts nothing and records nothing.
    const refused = await api('POST', `/hooks/${hook.hook_id}`, {
      headers: { 'x-playbook-timestamp': String(Math.floor(Date.now() / 1000)), 'x-playbook-signature': 'sha256=00' },
      rawBody: '{}',
    });
    expect(refused.status).toBe(401);
    expect((await entries({ action: 'run.start' })).filter((e) => e.actor === `webhook:${hook.hook_id}`)).toHaveLength(
      1,
    );
  });
});

describe('schedules', () => {
  it('schedule.set (create, replace) and schedule.delete: one entry per change, never the alert', async () => {
    const put = (body: unknown) => api('PUT', '/playbooks/timed/schedule', { token: h.tokenA, body });
    expect((await put({ cron: '0 * * * *', alert: { secret_marker: 'schedule-alert-marker' } })).status).toBe(200);
    expect((await put({ every_minutes: 15, enabled: false })).status).toBe(200);
    expect((await api('DELETE', '/playbooks/timed/schedule', { token: h.tokenA })).status).toBe(204);
    const listed = (await entries()).filter((e) => e.action.startsWith('schedule.'));
    expect(listed.map((e) => [e.action, e.actor, e.target])).toEqual([
      ['schedule.delete', 'analyst-a', 'schedule:timed'],
      ['schedule.set', 'analyst-a', 'schedule:timed'],
      ['schedule.set', 'analyst-a', 'schedule:timed'],
    ]);
    expect(listed[2]?.details).toEqual({
      playbook_name: 'timed',
      cron: '0 * * * *',
      enabled: true,
      next_run_at: expect.any(Number),
    });
    expect(listed[1]?.details).toEqual({
      playbook_name: 'timed',
      every_minutes: 15,
      enabled: false,
      next_run_at: null,
    });
    expect(listed[0]?.details).toEqual({ playbook_name: 'timed' });
    expect(new Set(listed.map((e) => e.id)).size).toBe(3);
    const stored = await db.collection(COLLECTIONS.audit).find({}).toArray();
    expect(JSON.stringify(stored)).not.toContain('schedule-alert-marker');
    expect((await api('GET', '/playbooks/timed/schedule', { token: h.tokenA })).status).toBe(404);
    expect(await db.collection(COLLECTIONS.schedules).countDocuments({})).toBe(0);
  });

  it('refused requests record nothing: bad cron, unknown playbook, no schedule to delete, another tenant', async () => {
    const before = (await entries()).length;
    const put = (name: string, body: unknown, token = h.tokenA) =>
      api('PUT', `/playbooks/${name}/schedule`, { token, body });
    expect((await put('timed', { cron: 'not a cron' })).status).toBe(400);
    expect((await put('nope', { every_minutes: 5 })).status).toBe(404);
    expect((await put('timed', { every_minutes: 5 }, h.tokenB)).status).toBe(404);
    expect((await api('DELETE', '/playbooks/timed/schedule', { token: h.tokenA })).status).toBe(404);
    expect((await entries()).length).toBe(before);
  });

  it('run.start by a slot: actor schedule, trigger schedule; a second invocation of the slot records nothing', async () => {
    expect(
      (await api('PUT', '/playbooks/timed/schedule', { token: h.tokenA, body: { every_minutes: 1 } })).status,
    ).toBe(200);
    const slot = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
    const makeDue = () =>
      db
        .collection(COLLECTIONS.schedules)
        .updateOne({ _id: scheduleId('tenant-a', 'timed') as never }, { $set: { next_run_at: slot } });
    await makeDue();
    expect((await runSchedules(runSchedulesDeps(), Date.now() + 30_000)).started).toBe(1);
    await makeDue();
    const second = await runSchedules(runSchedulesDeps(), Date.now() + 30_000);
    expect([second.started, second.already]).toEqual([0, 1]);
    const starts = (await entries({ action: 'run.start' })).filter((e) => e.actor === 'schedule');
    expect(starts).toHaveLength(1);
    expect(starts[0]?.details).toMatchObject({ playbook_name: 'timed', trigger: 'schedule', attempt: 1 });
    expect(await pendingIds()).toEqual([]);
  });
});

describe('tenant isolation', () => {
  it("tenant B sees its own trigger entries only, and never tenant A's", async () => {
    const hook = await createHook('hooked', {}, h.tokenB);
    const b = await entries({}, h.tokenB);
    expect(b.map((e) => [e.action, e.actor, e.target])).toEqual([
      ['webhook.create', 'analyst-b', `webhook:${hook.hook_id}`],
      ['playbook.create', 'analyst-b', 'playbook:hooked'],
    ]);
    for (const action of ['webhook.delete', 'schedule.set', 'schedule.delete']) {
      expect(await entries({ action }, h.tokenB)).toEqual([]);
    }
    expect((await entries()).some((e) => e.actor === 'analyst-b' || e.target === `webhook:${hook.hook_id}`)).toBe(
      false,
    );
  });
});

describe('a writer dies between the change and its entry: after recovery both are visible', () => {
  const actor = { tenant_code: 'tenant-a', sub: 'analyst-a' };
  const recoverByReader = async () =>
    (await listAudit(auditLog(), 'tenant-a', { limit: 200 }, { now: Date.now() + grace() + 1, graceMs: grace() }))
      .items;

  it('webhook.create and webhook.delete: the hook works (or is gone) at once; the entry after GET /audit recovers', async () => {
    const created = await dieInPublish(false, (o) =>
      createWebhook({ ...webhookDeps(), audit: o }, actor, 'crashy', {}),
    );
    // The change is there at once (the hook is listed) with its entry pending on it.
    const hooks = await api('GET', '/playbooks/crashy/webhooks', { token: h.tokenA });
    const hookId = (hooks.body as { items: Array<{ hook_id: string }> }).items[0]?.hook_id as string;
    expect(created.id).toBe(`webhook:${hookId}:created`);
    // Its secret (the answer that never came) is derived again from the stored salt.
    const salt = (await db.collection(COLLECTIONS.webhooks).findOne({ _id: hookId as never }))?.salt as string;
    const secret = deriveWebhookSecret(await webhookDeps().key.key(), hookId, salt);
    expect((await deliver({ hook_id: hookId, secret }, '{}')).status).toBe(202);
    expect(await inLog(created.id)).toBe(0);
    expect(await pendingIds()).toContain(created.id);
    const deleted = await dieInPublish(false, (o) =>
      deleteWebhook({ ...webhookDeps(), audit: o }, actor, 'crashy', hookId),
    );
    // Gone for every reader at once (a tombstone): not listed, its deliveries refused.
    const after = await api('GET', '/playbooks/crashy/webhooks', { token: h.tokenA });
    expect((after.body as { items: unknown[] }).items).toEqual([]);
    expect((await deliver({ hook_id: hookId, secret }, '{}')).status).toBe(401);
    expect(await db.collection(COLLECTIONS.webhooks).countDocuments({ _id: hookId as never })).toBe(1);

    const ids = (await recoverByReader()).map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining([created.id, deleted.id]));
    expect([await inLog(created.id), await inLog(deleted.id)]).toEqual([1, 1]);
    expect(await pendingIds()).toEqual([]);
    expect(await db.collection(COLLECTIONS.webhooks).countDocuments({ _id: hookId as never })).toBe(0);
  });

  it('schedule.set and schedule.delete: the entry after the sweep recovers; a set after a dead delete finishes it', async () => {
    const input = { every_minutes: 5, alert: {}, enabled: true };
    const set = await dieInPublish(false, (o) => setSchedule({ ...scheduleDeps(), audit: o }, actor, 'crashy', input));
    expect((await api('GET', '/playbooks/crashy/schedule', { token: h.tokenA })).status).toBe(200);
    const del = await dieInPublish(true, (o) => deleteSchedule({ ...scheduleDeps(), audit: o }, actor, 'crashy'));
    // Deleted for every reader at once; the entry was copied before the writer died, not yet cleared.
    expect((await api('GET', '/playbooks/crashy/schedule', { token: h.tokenA })).status).toBe(404);
    expect([await inLog(set.id), await inLog(del.id)]).toEqual([0, 1]);

    const swept = await sweepAudit(auditLog(), { now: Date.now() + grace() + 1, graceMs: grace(), limit: 100 });
    expect(swept.published).toBe(2);
    expect([await inLog(set.id), await inLog(del.id)]).toEqual([1, 1]);
    expect(await pendingIds()).toEqual([]);

    // A delete that dies before its copy leaves a tombstone holding the key: the next set finishes it first.
    await setSchedule({ ...scheduleDeps() }, actor, 'crashy', input);
    const del2 = await dieInPublish(false, (o) => deleteSchedule({ ...scheduleDeps(), audit: o }, actor, 'crashy'));
    const again = await api('PUT', '/playbooks/crashy/schedule', { token: h.tokenA, body: { every_minutes: 10 } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ every_minutes: 10, last_run: null });
    expect(await inLog(del2.id)).toBe(1);
    expect(await pendingIds()).toEqual([]);
    const actions = (await entries()).filter((e) => e.target === 'schedule:crashy').map((e) => e.action);
    expect(actions.slice(0, 3)).toEqual(['schedule.set', 'schedule.delete', 'schedule.set']);
  });
});
