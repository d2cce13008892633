/**
 * GET /audit through the real handlers: one entry per change for every action wired
 * (playbook create, update, restore, delete; run start, cancel, redrive) with the caller as
 * actor and the changed resource as target, nothing for requests that changed nothing,
 * newest first, each filter and their combinations, the cursor, tenant isolation, no alert
 * content, and 400s naming the parameter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { getDb } from '../../lib/clients.js';
import { mintToken } from '../../scripts/lib/token.js';
import { api } from '../support/api.js';
import { TEST_JWT_SECRET } from '../support/endpoints.js';
import { createHarness, type Harness } from '../support/harness.js';

let h: Harness;
/** Tenant A's second user. */
let tokenA2: string;
const ALERT_MARKER = `audit-alert-marker-${Date.now()}`;

interface Entry {
  id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}
interface Page {
  items: Entry[];
  next: string | null;
}

async function audit(query: Record<string, string> = {}, token = h.tokenA): Promise<Page> {
  const res = await api('GET', '/audit', { token, query });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Page;
}

/** Every entry of the tenant, following the cursor. */
async function all(query: Record<string, string> = {}, token = h.tokenA): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let before: string | undefined; ; ) {
    const page = await audit({ ...query, limit: '3', ...(before ? { before } : {}) }, token);
    out.push(...page.items);
    if (!page.next) return out;
    before = page.next;
  }
}

let peidStarted = '';
let peidFailed = '';
let pid = '';
let t0 = 0;

beforeAll(async () => {
  h = await createHarness();
  tokenA2 = await mintToken(TEST_JWT_SECRET, { tenant: 'tenant-a', sub: 'analyst-a2' });
  t0 = Date.now();
  const body = (url: string) => ({
    name: 'audited',
    tasks: [{ id: 'a', type: 'http', config: { method: 'GET', url } }],
  });
  // playbook.create (analyst-a), playbook.update x2 (analyst-a2), playbook.restore (analyst-a)
  const created = await api('POST', '/playbooks', { token: h.tokenA, body: body(`${h.stub.url}/status/500`) });
  pid = (created.body as { pid: string }).pid;
  await api('PUT', '/playbooks/audited', { token: tokenA2, body: body(`${h.stub.url}/ok/2`) });
  await api('PUT', '/playbooks/audited', { token: tokenA2, body: body(`${h.stub.url}/status/404`) });
  const restored = await api('POST', '/playbooks/audited/versions/1/restore', { token: h.tokenA });
  expect(restored.status).toBe(200);
  // run.start, then run.cancel of that run (analyst-a2), by nobody consuming the queue.
  peidStarted = await h.startRun('audited', { user: ALERT_MARKER });
  expect((await api('POST', `/executions/${peidStarted}/cancel`, { token: tokenA2 })).status).toBe(202);
  // A cancel that changes nothing records nothing.
  expect((await api('POST', `/executions/${peidStarted}/cancel`, { token: h.tokenA })).status).toBe(202);
  // run.start of a run that fails (the restored version 1 calls a 500), then run.redrive.
  peidFailed = await h.startRun('audited', { user: ALERT_MARKER });
  const poller = h.poller().start();
  await h.waitFinished(peidFailed);
  await poller.stop();
  expect((await api('POST', `/executions/${peidFailed}/redrive`, { token: tokenA2 })).status).toBe(202);
  // playbook.delete (analyst-a2); tenant B's own changes.
  expect((await api('DELETE', '/playbooks/audited', { token: tokenA2 })).status).toBe(204);
  await h.createPlaybook({ name: 'audited', tasks: [{ id: 'a', type: 'noop' }] }, h.tokenB);
  // Refused requests change nothing and record nothing.
  const unknown = { ...body('https://x.example'), name: 'nope' };
  expect((await api('PUT', '/playbooks/nope', { token: h.tokenA, body: unknown })).status).toBe(404);
  expect((await api('POST', '/playbooks', { token: h.tokenA, body: { name: 'bad', tasks: [] } })).status).toBe(400);
});
afterAll(async () => h.close());

describe('GET /audit: entries', () => {
  it('records every change of the tenant once, newest first, with its actor and target', async () => {
    const entries = await all();
    expect(entries.map((e) => [e.action, e.actor, e.target])).toEqual([
      ['playbook.delete', 'analyst-a2', 'playbook:audited'],
      ['run.redrive', 'analyst-a2', `execution:${peidFailed}`],
      ['run.start', 'analyst-a', `execution:${peidFailed}`],
      ['run.cancel', 'analyst-a2', `execution:${peidStarted}`],
      ['run.start', 'analyst-a', `execution:${peidStarted}`],
      ['playbook.restore', 'analyst-a', 'playbook:audited'],
      ['playbook.update', 'analyst-a2', 'playbook:audited'],
      ['playbook.update', 'analyst-a2', 'playbook:audited'],
      ['playbook.create', 'analyst-a', 'playbook:audited'],
    ]);
    const ats = entries.map((e) => e.at);
    expect([...ats].sort((a, b) => b - a)).toEqual(ats);
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
    expect(Math.min(...ats)).toBeGreaterThanOrEqual(t0);
  });

  it('details carry ids, versions, counts and statuses', async () => {
    const byAction = (a: string) => all({ action: a });
    expect((await byAction('playbook.create'))[0]?.details).toEqual({ pid, version: 1, status: 'active', tasks: 1 });
    expect((await byAction('playbook.update')).map((e) => e.details)).toEqual([
      { pid, version: 3, previous_version: 2, status: 'active', tasks: 1 },
      { pid, version: 2, previous_version: 1, status: 'active', tasks: 1 },
    ]);
    expect((await byAction('playbook.restore'))[0]?.details).toEqual({
      pid,
      version: 4,
      previous_version: 3,
      restored_from: 1,
      status: 'active',
      tasks: 1,
    });
    expect((await byAction('playbook.delete'))[0]?.details).toEqual({ pid, version: 4, status: 'active', tasks: 1 });
    const starts = await byAction('run.start');
    expect(starts[1]?.details).toEqual({
      playbook_name: 'audited',
      pid,
      playbook_version: 4,
      attempt: 1,
      alert_id: expect.any(String),
      trigger: 'api',
      tasks: 1,
    });
    expect((await byAction('run.cancel'))[0]?.details).toEqual({
      playbook_name: 'audited',
      pid,
      playbook_version: 4,
      attempt: 1,
    });
    expect((await byAction('run.redrive'))[0]?.details).toEqual({
      playbook_name: 'audited',
      pid,
      playbook_version: 4,
      attempt: 2,
      previous_status: 'failed',
      tasks: 1,
    });
  });

  it('no entry holds alert content; entries are stored once and nothing is left pending', async () => {
    const stored = await getDb().collection(COLLECTIONS.audit).find({}).toArray();
    expect(JSON.stringify(stored)).not.toContain(ALERT_MARKER);
    expect(stored.filter((d) => d.tenant_code === 'tenant-a')).toHaveLength(9);
    for (const c of [COLLECTIONS.playbooks, COLLECTIONS.executions]) {
      const pending = await getDb()
        .collection(c)
        .countDocuments({ 'audit_pending.0': { $exists: true } });
      expect(pending, c).toBe(0);
    }
    // The deleted playbook's tombstone is gone: its name can be used again.
    expect(await getDb().collection(COLLECTIONS.playbooks).countDocuments({ pid })).toBe(0);
  });

  it("a tenant sees only its own entries; another tenant's are never listed", async () => {
    const b = await all({}, h.tokenB);
    expect(b.map((e) => [e.action, e.actor, e.target])).toEqual([['playbook.create', 'analyst-b', 'playbook:audited']]);
    const a = await all();
    expect(a.some((e) => e.actor === 'analyst-b')).toBe(false);
    for (const action of ['run.start', 'playbook.delete']) expect(await all({ action }, h.tokenB)).toEqual([]);
  });
});

describe('GET /audit: filters and pages', () => {
  it('action, since and until, alone and combined, agree with filtering the whole log', async () => {
    const everything = await all();
    const mid = everything[4]?.at ?? 0;
    const cases: Array<[Record<string, string>, (e: Entry) => boolean]> = [
      [{ action: 'run.start' }, (e) => e.action === 'run.start'],
      [{ since: String(mid) }, (e) => e.at >= mid],
      [{ until: String(mid) }, (e) => e.at < mid],
      [{ since: String(mid), until: String(mid + 1) }, (e) => e.at === mid],
      [{ action: 'playbook.update', until: String(mid) }, (e) => e.action === 'playbook.update' && e.at < mid],
      [{ action: 'run.start', since: String(mid) }, (e) => e.action === 'run.start' && e.at >= mid],
      [{ action: 'run.redrive', since: String(t0), until: String(Date.now()) }, (e) => e.action === 'run.redrive'],
      [{ action: 'webhook.create' }, () => false],
    ];
    for (const [query, keep] of cases) {
      expect(
        (await all(query)).map((e) => e.id),
        JSON.stringify(query),
      ).toEqual(everything.filter(keep).map((e) => e.id));
    }
  });

  it('pages with limit and the next cursor, without gaps or repeats', async () => {
    const p1 = await audit({ limit: '4' });
    expect(p1.items).toHaveLength(4);
    expect(p1.next).toEqual(expect.any(String));
    const p2 = await audit({ limit: '4', before: p1.next ?? '' });
    const p3 = await audit({ limit: '4', before: p2.next ?? '' });
    expect(p3.next).toBeNull();
    expect([...p1.items, ...p2.items, ...p3.items].map((e) => e.id)).toEqual((await all()).map((e) => e.id));
    expect((await audit()).items).toHaveLength(9);
  });

  it('bad values are a 400 naming the parameter', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ since: 'yesterday' }, 'since'],
      [{ since: '-1' }, 'since'],
      [{ until: '1.5' }, 'until'],
      [{ until: '99999999999999999' }, 'until'],
      [{ since: '2000', until: '1000' }, 'until'],
      [{ since: '1000', until: '1000' }, 'until'],
      [{ action: 'playbook.rename' }, 'action'],
      [{ action: '{"$ne":null}' }, 'action'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '201' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ before: 'not-a-cursor' }, 'before'],
      [{ before: Buffer.from('[1,2]').toString('base64url') }, 'before'],
      [{ tenant_code: 'tenant-b' }, 'tenant_code'],
      [{ actor: 'analyst-a' }, 'actor'],
    ];
    for (const [query, field] of cases) {
      const res = await api('GET', '/audit', { token: h.tokenA, query });
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body, JSON.stringify(query)).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
      expect(
        (res.body as { error: { details: Array<{ path: string }> } }).error.details.map((d) => d.path),
        JSON.stringify(query),
      ).toContain(field);
    }
  });
});
