/**
 * GET /executions filters against a seeded set with known answers: every filter alone and with
 * status, since and until, paged with the cursor (ties on createddate included), runs recorded
 * before modes and triggers existed, the tenant isolation of each filter, and the 400s.
 * The runs are written by the product's own planRun and run store, then given their statuses.
 */
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import type { RunMode, RunTrigger } from '../../lib/domain/triggers.js';
import type { StoredPlaybook } from '../../lib/engine/model.js';
import { planRun } from '../../lib/engine/start-run.js';
import { runStore } from '../../lib/wiring/runs.js';
import { mintToken } from '../../scripts/lib/token.js';
import { directDb } from '../reliability/support/fixtures.js';
import { api } from '../support/api.js';
import { TEST_JWT_SECRET } from '../support/endpoints.js';

interface Seeded {
  tenant: string;
  peid: string;
  playbook_name: string;
  alert_id: string;
  trigger: RunTrigger['type'];
  mode: RunMode;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  createddate: number;
}

const TENANTS = ['search-a', 'search-b'];
const T0 = 1_790_000_000_000;
const seeded: Seeded[] = [];
const tokens = new Map<string, string>();
let direct: { db: Db; close: () => Promise<void> };

const triggerOf = (type: RunTrigger['type'], i: number): RunTrigger =>
  type === 'webhook'
    ? { type, hook_id: `wh_${String(i).padStart(22, 'x')}` }
    : type === 'schedule'
      ? { type, slot: T0 + i * 60_000 }
      : type === 'subplaybook'
        ? { type, parent_peid: '00000000-0000-4000-8000-000000000000', task_id: 'child' }
        : { type: 'api' };

beforeAll(async () => {
  direct = await directDb();
  const store = runStore();
  const statuses = ['running', 'completed', 'failed', 'cancelled'] as const;
  const triggers = ['api', 'webhook', 'schedule', 'subplaybook'] as const;
  for (const [t, tenant] of TENANTS.entries()) {
    tokens.set(tenant, await mintToken(TEST_JWT_SECRET, { tenant, sub: `analyst-${t}` }));
    for (let i = 0; i < 48; i++) {
      // Tenant b alone has a fourth playbook and a sixth alert: tenant a must never find them.
      const only = t === 1 && i % 8 === 0;
      const playbook_name = only ? 'pb-b-only' : `pb-${(i + t) % 3}`;
      const playbook: StoredPlaybook = {
        pid: `pid-${playbook_name}`,
        tenant_code: tenant,
        name: playbook_name,
        status: 'active',
        tasks: [{ id: 'n', type: 'noop' } as StoredPlaybook['tasks'][number]],
        version: 1,
        createddate: T0,
        updateddate: T0,
      };
      const s: Seeded = {
        tenant,
        peid: `${String(t)}${String(i).padStart(7, '0')}-0000-4000-8000-${String(i * 7919).padStart(12, '0')}`,
        playbook_name,
        alert_id: only ? 'alert-b-only' : `alert-${i % 5}`,
        trigger: triggers[(i + 2 * t) % 4] as RunTrigger['type'],
        mode: i % 3 === 0 ? 'test' : 'live',
        status: statuses[(i + t) % 4] as Seeded['status'],
        // Pairs share a createddate: the cursor's tie-break on peid is exercised.
        createddate: T0 + Math.floor(i / 2) * 1000,
      };
      seeded.push(s);
      const plan = planRun(
        playbook,
        { playbook_name, alert_id: s.alert_id, alert: {} },
        { tenant_code: tenant, sub: 'seed' },
        s.peid,
        s.createddate,
        { trigger: triggerOf(s.trigger, i), mode: s.mode },
      );
      await store.insertRun(plan.exec, plan.tasks);
      if (s.status !== 'running') {
        await store.finishRun({ tenant_code: tenant, peid: s.peid }, s.status, s.createddate + 5, s.createddate);
      }
    }
  }
  // Runs recorded before modes and triggers existed: they are live runs of the API.
  const legacy = seeded.filter((s) => s.trigger === 'api' && s.mode === 'live' && Number(s.peid.slice(1, 8)) % 2 === 0);
  expect(legacy.length).toBeGreaterThan(2);
  await direct.db
    .collection(COLLECTIONS.executions)
    .updateMany({ peid: { $in: legacy.map((s) => s.peid) } }, { $unset: { mode: '', trigger: '' } });
});
afterAll(async () => direct.close());

/** Every item of the search, following `next` with pages of 5. */
async function search(tenant: string, query: Record<string, string>): Promise<string[]> {
  const out: string[] = [];
  let before: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await api('GET', '/executions', {
      token: tokens.get(tenant) as string,
      query: { ...query, limit: '5', ...(before ? { before } : {}) },
    });
    expect(res.status, `${JSON.stringify(query)}: ${JSON.stringify(res.body)}`).toBe(200);
    const body = res.body as { items: Array<{ peid: string; tenant_code: string }>; next: string | null };
    for (const item of body.items) {
      expect(item.tenant_code).toBe(tenant);
      out.push(item.peid);
    }
    if (body.next === null) return out;
    before = body.next;
  }
  throw new Error('too many pages');
}

/** The known answer: the tenant's seeded runs matching `where`, newest first (peid breaks ties). */
function expected(tenant: string, where: (s: Seeded) => boolean): string[] {
  return seeded
    .filter((s) => s.tenant === tenant && where(s))
    .sort((a, b) => b.createddate - a.createddate || (a.peid < b.peid ? 1 : -1))
    .map((s) => s.peid);
}

const since = String(T0 + 5_000);
const until = String(T0 + 19_000);
const inWindow = (s: Seeded) => s.createddate >= Number(since) && s.createddate < Number(until);

describe('GET /executions: search', () => {
  const fields: Array<[string, string[], (s: Seeded, v: string) => boolean]> = [
    ['playbook_name', ['pb-0', 'pb-1', 'pb-2'], (s, v) => s.playbook_name === v],
    ['alert_id', ['alert-0', 'alert-3'], (s, v) => s.alert_id === v],
    ['trigger', ['api', 'webhook', 'schedule', 'subplaybook'], (s, v) => s.trigger === v],
    ['mode', ['live', 'test'], (s, v) => s.mode === v],
  ];

  it('each filter alone and with status, since and until gives exactly the known runs, in order', async () => {
    for (const tenant of TENANTS) {
      expect(await search(tenant, {})).toEqual(expected(tenant, () => true));
      for (const status of ['completed', 'running']) {
        expect(await search(tenant, { status })).toEqual(expected(tenant, (s) => s.status === status));
      }
      expect(await search(tenant, { since, until })).toEqual(expected(tenant, inWindow));
      for (const [field, values, match] of fields) {
        for (const value of values) {
          const what = `${tenant} ${field}=${value}`;
          const all = expected(tenant, (s) => match(s, value));
          expect(all.length, what).toBeGreaterThan(0);
          expect(await search(tenant, { [field]: value }), what).toEqual(all);
          expect(await search(tenant, { [field]: value, status: 'failed' }), `${what} failed`).toEqual(
            expected(tenant, (s) => match(s, value) && s.status === 'failed'),
          );
          expect(await search(tenant, { [field]: value, since, until }), `${what} window`).toEqual(
            expected(tenant, (s) => match(s, value) && inWindow(s)),
          );
          expect(
            await search(tenant, { [field]: value, status: 'completed', since }),
            `${what} completed since`,
          ).toEqual(
            expected(tenant, (s) => match(s, value) && s.status === 'completed' && s.createddate >= Number(since)),
          );
        }
      }
    }
  });

  it("each filter is tenant-scoped: values only another tenant has find nothing, shared values only the caller's runs", async () => {
    // (Every search above also checks that each item is the caller's.)
    const onlyB: Array<Record<string, string>> = [{ playbook_name: 'pb-b-only' }, { alert_id: 'alert-b-only' }];
    for (const query of onlyB) {
      const mine = expected('search-b', (s) => s.playbook_name === 'pb-b-only');
      expect(mine).toHaveLength(6);
      expect(await search('search-b', query)).toEqual(mine);
      const extras: Array<Record<string, string>> = [{}, { status: 'running' }, { since, until }];
      for (const extra of extras) {
        expect(await search('search-a', { ...query, ...extra }), JSON.stringify(query)).toEqual([]);
      }
    }
    for (const [field, values] of fields) {
      for (const value of values) {
        const a = await search('search-a', { [field]: value });
        const b = await search('search-b', { [field]: value });
        expect(
          a.filter((p) => b.includes(p)),
          `${field}=${value}`,
        ).toEqual([]);
      }
    }
  });

  it('lists mode and trigger on every item (older runs: live, api)', async () => {
    const res = await api('GET', '/executions', {
      token: tokens.get('search-a') as string,
      query: { trigger: 'webhook', limit: '3' },
    });
    const items = (res.body as { items: Array<{ mode: string; trigger: { type: string; hook_id?: string } }> }).items;
    expect(items.length).toBe(3);
    for (const item of items) {
      expect(item.trigger.type).toBe('webhook');
      expect(item.trigger.hook_id).toMatch(/^wh_/);
      expect(['live', 'test']).toContain(item.mode);
    }
    const legacy = await direct.db.collection(COLLECTIONS.executions).findOne({ mode: { $exists: false } });
    const view = await api('GET', `/executions/${legacy?.peid}`, { token: tokens.get(legacy?.tenant_code) as string });
    expect(view.body).toMatchObject({ mode: 'live', trigger: { type: 'api' } });
  });

  it('refuses bad values and unsupported combinations with a 400 naming the parameter', async () => {
    const token = tokens.get('search-a') as string;
    const cases: Array<[Record<string, string>, string]> = [
      [{ playbook_name: 'Bad Name' }, 'playbook_name'],
      [{ alert_id: '' }, 'alert_id'],
      [{ alert_id: 'x'.repeat(257) }, 'alert_id'],
      [{ trigger: 'cron' }, 'trigger'],
      [{ mode: 'dry' }, 'mode'],
      [{ since: 'yesterday' }, 'since'],
      [{ since: '-1' }, 'since'],
      [{ until: '1e12' }, 'until'],
      [{ since: '2000', until: '1000' }, 'until'],
      [{ playbook_name: 'pb-1', mode: 'test' }, 'mode'],
      [{ alert_id: 'alert-1', trigger: 'api' }, 'trigger'],
      [{ playbook_name: 'pb-1', alert_id: 'alert-1', trigger: 'api' }, 'alert_id'],
    ];
    for (const [query, path] of cases) {
      const res = await api('GET', '/executions', { token, query });
      expect(res.status, JSON.stringify(query)).toBe(400);
      const details = (res.body as { error: { details: Array<{ path: string }> } }).error.details;
      expect(
        details.map((d) => d.path),
        JSON.stringify(query),
      ).toContain(path);
    }
  });
});
