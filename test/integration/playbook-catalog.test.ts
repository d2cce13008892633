/**
 * The playbook management routes: list with filters, full replacement with versions and
 * optimistic concurrency, delete, tenant isolation — and runs pinned to the version
 * current when they started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { getDb } from '../../lib/clients.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  h.poller({ maxConcurrency: 4 }).start();
});
afterAll(async () => h.close());

const noop = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  tasks: [{ id: 'a', type: 'noop' }],
  ...extra,
});

interface PlaybookBody {
  pid: string;
  name: string;
  version: number;
  status: string;
  category_id?: string;
  description?: string;
  tasks?: unknown[];
  createddate: number;
  updateddate: number;
}

async function put(name: string, body: unknown, token = h.tokenA) {
  return api('PUT', `/playbooks/${name}`, { token, body });
}

describe('GET /playbooks', () => {
  beforeAll(async () => {
    await h.createPlaybook(noop('list-c', { category_id: 'phishing' }));
    await h.createPlaybook(noop('list-a', { category_id: 'phishing', status: 'inactive' }));
    await h.createPlaybook(noop('list-b', { category_id: 'malware' }));
    await h.createPlaybook(noop('list-other-tenant', { category_id: 'phishing' }), h.tokenB);
  });

  const names = (res: { body: unknown }) =>
    (res.body as { items: PlaybookBody[] }).items.map((p) => p.name).filter((n) => n.startsWith('list-'));

  it('lists the tenant’s playbooks by name, without task lists', async () => {
    const res = await api('GET', '/playbooks', { token: h.tokenA });
    expect(res.status).toBe(200);
    expect(names(res)).toEqual(['list-a', 'list-b', 'list-c']);
    const first = (res.body as { items: PlaybookBody[] }).items[0];
    expect(first).toMatchObject({ version: 1, tenant_code: 'tenant-a' });
    expect(first?.tasks).toBeUndefined();
  });

  it('filters by status, by category, and by both', async () => {
    const q = async (query: Record<string, string>) =>
      names(await api('GET', '/playbooks', { token: h.tokenA, query }));
    expect(await q({ status: 'active' })).toEqual(['list-b', 'list-c']);
    expect(await q({ category_id: 'phishing' })).toEqual(['list-a', 'list-c']);
    expect(await q({ status: 'active', category_id: 'phishing' })).toEqual(['list-c']);
    expect(await q({ status: 'inactive', category_id: 'malware' })).toEqual([]);
  });

  it('pages with limit and next', async () => {
    const first = await api('GET', '/playbooks', { token: h.tokenA, query: { limit: '2', category_id: 'phishing' } });
    const page1 = first.body as { items: PlaybookBody[]; next: string | null };
    expect(page1.items.map((p) => p.name)).toEqual(['list-a', 'list-c']);
    const all = await api('GET', '/playbooks', { token: h.tokenA, query: { limit: '1' } });
    const p1 = all.body as { items: PlaybookBody[]; next: string | null };
    expect(p1.items).toHaveLength(1);
    expect(p1.next).toBe(p1.items[0]?.name);
    const p2 = await api('GET', '/playbooks', { token: h.tokenA, query: { limit: '1', after: p1.next ?? '' } });
    expect((p2.body as { items: PlaybookBody[] }).items[0]?.name).not.toBe(p1.next);
  });

  it('answers 400 naming the bad query field', async () => {
    for (const [query, field] of [
      [{ status: 'archived' }, 'status'],
      [{ limit: '0' }, 'limit'],
      [{ owner: 'x' }, 'owner'],
    ] as const) {
      const res = await api('GET', '/playbooks', { token: h.tokenA, query });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain(field);
    }
  });

  it('never shows another tenant’s playbooks', async () => {
    const res = await api('GET', '/playbooks', { token: h.tokenB });
    expect(names(res)).toEqual(['list-other-tenant']);
  });
});

describe('PUT /playbooks/{name}', () => {
  it('replaces the definition at version + 1 and keeps the previous version', async () => {
    await h.createPlaybook(noop('put-basic', { description: 'first', category_id: 'c1' }));
    const before = (await api('GET', '/playbooks/put-basic', { token: h.tokenA })).body as PlaybookBody;
    const res = await put('put-basic', { tasks: [{ id: 'b', type: 'noop' }], status: 'inactive' });
    expect(res.status).toBe(200);
    const after = res.body as PlaybookBody;
    expect(after).toMatchObject({ pid: before.pid, name: 'put-basic', version: 2, status: 'inactive' });
    expect(after.createddate).toBe(before.createddate);
    // Full replacement: fields left out are gone.
    expect(after.description).toBeUndefined();
    expect(after.category_id).toBeUndefined();
    const read = (await api('GET', '/playbooks/put-basic', { token: h.tokenA })).body as PlaybookBody;
    expect(read).toEqual(after);
    const archived = await getDb()
      .collection(COLLECTIONS.playbookVersions)
      .find({ tenant_code: 'tenant-a', pid: before.pid })
      .toArray();
    expect(archived.map((v) => [v.version, v.description])).toEqual([[1, 'first']]);
  });

  it('refuses a body naming another playbook (400 on name) and validates like POST', async () => {
    await h.createPlaybook(noop('put-valid'));
    const renamed = await put('put-valid', noop('other-name'));
    expect(renamed.status).toBe(400);
    expect((renamed.body as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe('name');
    const cyclic = await put('put-valid', {
      tasks: [
        { id: 'a', type: 'noop', depends_on: ['b'] },
        { id: 'b', type: 'noop', depends_on: ['a'] },
      ],
    });
    expect(cyclic.status).toBe(400);
    const typo = await put('put-valid', { tasks: [{ id: 'a', type: 'noop', depend_on: [] }] });
    expect(typo.status).toBe(400);
    expect(JSON.stringify(typo.body)).toContain('depend_on');
    expect((await api('GET', '/playbooks/put-valid', { token: h.tokenA })).body).toMatchObject({ version: 1 });
  });

  it('answers 404 for an unknown or another tenant’s playbook', async () => {
    expect((await put('put-missing', noop('put-missing'))).status).toBe(404);
    await h.createPlaybook(noop('put-tenant-b'), h.tokenB);
    expect((await put('put-tenant-b', noop('put-tenant-b'))).status).toBe(404);
    expect((await api('GET', '/playbooks/put-tenant-b', { token: h.tokenB })).body).toMatchObject({ version: 1 });
  });

  it('never loses a concurrent update: each one wins (a version of its own) or answers 409', async () => {
    await h.createPlaybook(noop('put-race'));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => put('put-race', noop('put-race', { description: `writer ${i}` }))),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const won = results.filter((r) => r.status === 200).map((r) => r.body as PlaybookBody);
    expect(won.length).toBeGreaterThanOrEqual(1);
    // Every winner got a distinct version: no two updates were applied to the same base.
    expect(new Set(won.map((p) => p.version)).size).toBe(won.length);
    const final = (await api('GET', '/playbooks/put-race', { token: h.tokenA })).body as PlaybookBody;
    expect(final.version).toBe(1 + won.length);
    const last = won.find((p) => p.version === final.version);
    expect(final.description).toBe(last?.description);
    const conflict = results.find((r) => r.status === 409);
    if (conflict) expect(conflict.body).toMatchObject({ error: { code: 'CONFLICT' } });
    // Every superseded version is in the history exactly once.
    const archived = await getDb()
      .collection(COLLECTIONS.playbookVersions)
      .find({ tenant_code: 'tenant-a', pid: final.pid })
      .toArray();
    expect(archived.map((v) => v.version as number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: won.length }, (_, i) => i + 1),
    );
  });
});

describe('DELETE /playbooks/{name}', () => {
  it('answers 204, then 404; the name can be reused by a new playbook', async () => {
    await h.createPlaybook(noop('del-me'));
    const before = (await api('GET', '/playbooks/del-me', { token: h.tokenA })).body as PlaybookBody;
    const res = await api('DELETE', '/playbooks/del-me', { token: h.tokenA });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect((await api('GET', '/playbooks/del-me', { token: h.tokenA })).status).toBe(404);
    expect((await api('DELETE', '/playbooks/del-me', { token: h.tokenA })).status).toBe(404);
    const run = await api('POST', '/runplaybook', {
      token: h.tokenA,
      body: { playbook_name: 'del-me', alert_id: 'x', alert: {} },
    });
    expect(run.status).toBe(404);
    await h.createPlaybook(noop('del-me'));
    const again = (await api('GET', '/playbooks/del-me', { token: h.tokenA })).body as PlaybookBody;
    expect(again.pid).not.toBe(before.pid);
    expect(again.version).toBe(1);
  });

  it('answers 404 for another tenant’s playbook and leaves it alone', async () => {
    await h.createPlaybook(noop('del-tenant-b'), h.tokenB);
    expect((await api('DELETE', '/playbooks/del-tenant-b', { token: h.tokenA })).status).toBe(404);
    expect((await api('GET', '/playbooks/del-tenant-b', { token: h.tokenB })).status).toBe(200);
  });

  it('lets a run in flight finish on its own copy of the definition', async () => {
    await h.createPlaybook({
      name: 'del-in-flight',
      tasks: [
        { id: 'wait', type: 'delay', config: { seconds: 1 } },
        {
          id: 'call',
          type: 'http',
          depends_on: ['wait'],
          config: { method: 'POST', url: `${h.stub.url}/ok/del-in-flight` },
        },
      ],
    });
    const peid = await h.startRun('del-in-flight');
    expect((await api('DELETE', '/playbooks/del-in-flight', { token: h.tokenA })).status).toBe(204);
    const e = await h.waitFinished(peid);
    expect(e.execution_status).toBe('completed');
    expect(h.stub.callsTo('/ok/del-in-flight')).toHaveLength(1);
  });
});

describe('runs are pinned to the version current when they started', () => {
  it('a run in flight finishes on the old definition; a new run uses the new one', async () => {
    const def = (target: string) => ({
      name: 'versioned',
      tasks: [
        { id: 'wait', type: 'delay', config: { seconds: 1 } },
        {
          id: 'call',
          type: 'http',
          depends_on: ['wait'],
          config: { method: 'POST', url: `${h.stub.url}/ok/${target}` },
        },
      ],
    });
    await h.createPlaybook(def('version-1'));
    const oldRun = await h.startRun('versioned');

    const updated = await put('versioned', def('version-2'));
    expect(updated.status).toBe(200);
    expect((updated.body as PlaybookBody).version).toBe(2);
    // The update really happened while the old run was in flight.
    expect((await h.execution(oldRun)).execution_status).toBe('running');
    expect(h.stub.callsTo('/ok/version-1')).toHaveLength(0);

    const newRun = await h.startRun('versioned');
    const [oldDone, newDone] = await Promise.all([h.waitFinished(oldRun), h.waitFinished(newRun)]);

    expect(oldDone).toMatchObject({ execution_status: 'completed', playbook_version: 1 });
    expect(newDone).toMatchObject({ execution_status: 'completed', playbook_version: 2 });
    expect(h.stub.callsTo('/ok/version-1')).toHaveLength(1);
    expect(h.stub.callsTo('/ok/version-2')).toHaveLength(1);
    expect(oldDone.tasks.find((t) => t.task_id === 'call')?.output).toMatchObject({
      body: { path: '/ok/version-1' },
    });
    expect(newDone.tasks.find((t) => t.task_id === 'call')?.output).toMatchObject({
      body: { path: '/ok/version-2' },
    });
  });
});
