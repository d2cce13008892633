/**
 * Playbook history: the versions list (newest first, paged), one version's definition,
 * restore as a new version equal to the chosen one (the cache serves it to the next run,
 * runs already started stay on theirs), optimistic concurrency, tenant isolation, and the
 * 400s / 404s / 422s of bad requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { getDb } from '../../lib/clients.js';
import type { StoredPlaybook } from '../../lib/engine/model.js';
import { restorePlaybookVersion } from '../../lib/engine/playbook-versions.js';
import type { PlaybookStore } from '../../lib/engine/ports/playbook-store.js';
import { auditLog, playbookCatalog } from '../../lib/wiring/index.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

interface VersionPage {
  items: Array<{ version: number; updateddate: number; updated_by: string | null }>;
  next: number | null;
}

/** A playbook whose single http task calls the stub at `/ok/<marker>`: runs show which version they ran. */
const marked = (name: string, marker: string, extra: Record<string, unknown> = {}) => ({
  name,
  description: `calls ${marker}`,
  tasks: [{ id: 'call', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/${marker}` } }],
  ...extra,
});

async function put(name: string, body: unknown, token = h.tokenA) {
  const res = await api('PUT', `/playbooks/${name}`, { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as StoredPlaybook;
}

async function versions(name: string, query: Record<string, string> = {}, token = h.tokenA) {
  return api('GET', `/playbooks/${name}/versions`, { token, query });
}

describe('GET /playbooks/{name}/versions', () => {
  beforeAll(async () => {
    await h.createPlaybook(marked('hist-list', 'v1'));
    await put('hist-list', marked('hist-list', 'v2'));
    await put('hist-list', marked('hist-list', 'v3'), h.tokenA);
  });

  it('lists every version newest first, the current one included, with who wrote it', async () => {
    const res = await versions('hist-list');
    expect(res.status).toBe(200);
    const page = res.body as VersionPage;
    expect(page.items.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(page.items.map((v) => v.updated_by)).toEqual(['analyst-a', 'analyst-a', 'analyst-a']);
    const dates = page.items.map((v) => v.updateddate);
    expect([...dates].sort((a, b) => b - a)).toEqual(dates);
    expect(page.next).toBeNull();
  });

  it('pages with limit and before = next', async () => {
    const p1 = (await versions('hist-list', { limit: '2' })).body as VersionPage;
    expect(p1.items.map((v) => v.version)).toEqual([3, 2]);
    expect(p1.next).toBe(2);
    const p2 = (await versions('hist-list', { limit: '2', before: String(p1.next) })).body as VersionPage;
    expect(p2.items.map((v) => v.version)).toEqual([1]);
    expect(p2.next).toBeNull();
    const below3 = (await versions('hist-list', { before: '3' })).body as VersionPage;
    expect(below3.items.map((v) => v.version)).toEqual([2, 1]);
  });

  it('an extra archived copy of the current version (a write that died between its steps) is listed once', async () => {
    const current = (await api('GET', '/playbooks/hist-list', { token: h.tokenA })).body as StoredPlaybook;
    await getDb()
      .collection(COLLECTIONS.playbookVersions)
      .insertOne({ _id: `${current.pid}:${current.version}` as never, ...current, archived_at: Date.now() });
    const page = (await versions('hist-list')).body as VersionPage;
    expect(page.items.map((v) => v.version)).toEqual([3, 2, 1]);
  });

  it("another tenant's playbook, an unknown one and a deleted one are 404; bad queries 400 naming the field", async () => {
    expect((await versions('hist-list', {}, h.tokenB)).status).toBe(404);
    expect((await versions('hist-nope')).status).toBe(404);
    await h.createPlaybook(marked('hist-deleted', 'x'));
    expect((await api('DELETE', '/playbooks/hist-deleted', { token: h.tokenA })).status).toBe(204);
    expect((await versions('hist-deleted')).status).toBe(404);
    for (const [query, field] of [
      [{ limit: '0' }, 'limit'],
      [{ limit: '201' }, 'limit'],
      [{ before: '0' }, 'before'],
      [{ before: 'latest' }, 'before'],
      [{ after: '2' }, 'after'],
    ] as const) {
      const res = await versions('hist-list', query);
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(JSON.stringify(res.body), JSON.stringify(query)).toContain(`"path":"${field}"`);
    }
  });
});

describe('GET /playbooks/{name}/versions/{version}', () => {
  it('answers each version as it was written; the current one equals GET /playbooks/{name}', async () => {
    await h.createPlaybook(marked('hist-get', 'one', { category_id: 'phishing' }));
    await put('hist-get', marked('hist-get', 'two', { status: 'inactive' }));
    const v1 = await api('GET', '/playbooks/hist-get/versions/1', { token: h.tokenA });
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ version: 1, description: 'calls one', category_id: 'phishing', status: 'active' });
    const v2 = await api('GET', '/playbooks/hist-get/versions/2', { token: h.tokenA });
    expect(v2.body).toEqual((await api('GET', '/playbooks/hist-get', { token: h.tokenA })).body);
    expect((v2.body as StoredPlaybook).category_id).toBeUndefined();
    expect(JSON.stringify(v1.body)).not.toMatch(/archived_at|audit_pending|deleted_at|"_id"/);
  });

  it('a version that never existed, another tenant, a malformed version', async () => {
    expect((await api('GET', '/playbooks/hist-get/versions/3', { token: h.tokenA })).status).toBe(404);
    expect((await api('GET', '/playbooks/hist-get/versions/1', { token: h.tokenB })).status).toBe(404);
    for (const v of ['0', '-1', '1.5', 'one', '01', '9999999999']) {
      const res = await api('GET', `/playbooks/hist-get/versions/${v}`, { token: h.tokenA });
      expect(res.status, v).toBe(400);
      expect(JSON.stringify(res.body), v).toContain('"path":"version"');
    }
  });
});

describe('POST /playbooks/{name}/versions/{version}/restore', () => {
  it('writes a new version equal to the chosen one; runs started before keep theirs, later runs use it', async () => {
    await h.createPlaybook(marked('hist-restore', 'first', { category_id: 'phishing' }));
    await put('hist-restore', marked('hist-restore', 'second', { category_id: 'malware' }));

    // A run of version 2, started (nothing consumes the queue yet) before the restore.
    const before = await h.startRun('hist-restore');
    const res = await api('POST', '/playbooks/hist-restore/versions/1/restore', { token: h.tokenA });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const restored = res.body as StoredPlaybook;
    const v1 = (await api('GET', '/playbooks/hist-restore/versions/1', { token: h.tokenA })).body as StoredPlaybook;
    expect(restored.version).toBe(3);
    expect(restored.updated_by).toBe('analyst-a');
    const def = ({ version: _v, updateddate: _u, updated_by: _b, ...rest }: StoredPlaybook) => rest;
    expect(def(restored)).toEqual(def(v1));
    expect((await api('GET', '/playbooks/hist-restore', { token: h.tokenA })).body).toEqual(restored);

    // The cache serves the restored version to the next run at once.
    const after = await h.startRun('hist-restore');
    const poller = h.poller({ maxConcurrency: 2 }).start();
    try {
      const [runBefore, runAfter] = [await h.waitFinished(before), await h.waitFinished(after)];
      expect([runBefore.execution_status, runAfter.execution_status]).toEqual(['completed', 'completed']);
      expect([runBefore.playbook_version, runAfter.playbook_version]).toEqual([2, 3]);
    } finally {
      await poller.stop();
    }
    const paths = h.stub.calls.map((c) => c.path).filter((p) => p === '/ok/first' || p === '/ok/second');
    expect([...paths].sort()).toEqual(['/ok/first', '/ok/second']);
    const list = (await versions('hist-restore')).body as VersionPage;
    expect(list.items.map((v) => v.version)).toEqual([3, 2, 1]);
  });

  it('restoring the current version adds an equal version; restores answer 404 for unknown versions and tenants', async () => {
    await h.createPlaybook(marked('hist-same', 'same'));
    const res = await api('POST', '/playbooks/hist-same/versions/1/restore', { token: h.tokenA, body: {} });
    expect(res.status).toBe(200);
    expect((res.body as StoredPlaybook).version).toBe(2);
    expect((await api('POST', '/playbooks/hist-same/versions/3/restore', { token: h.tokenA })).status).toBe(404);
    expect((await api('POST', '/playbooks/hist-same/versions/1/restore', { token: h.tokenB })).status).toBe(404);
    expect((await api('POST', '/playbooks/hist-none/versions/1/restore', { token: h.tokenA })).status).toBe(404);
    const body = await api('POST', '/playbooks/hist-same/versions/1/restore', {
      token: h.tokenA,
      body: { version: 2 },
    });
    expect(body.status).toBe(400);
    expect(JSON.stringify(body.body)).toContain('"path":"(body)"');
    expect(((await api('GET', '/playbooks/hist-same', { token: h.tokenA })).body as StoredPlaybook).version).toBe(2);
  });

  it('a concurrent change between read and write is a 409, and nothing is restored', async () => {
    await h.createPlaybook(marked('hist-race', 'a'));
    await put('hist-race', marked('hist-race', 'b'));
    const real = playbookCatalog();
    // Another writer updates the playbook after the restore read it.
    const racing: PlaybookStore = {
      ...real,
      async replace(current, next, audit) {
        await put('hist-race', marked('hist-race', 'c'));
        return real.replace(current, next, audit);
      },
    };
    const w = { tenant_code: 'tenant-a', actor: 'analyst-a', now: Date.now(), audit: auditLog() };
    await expect(restorePlaybookVersion(racing, w, 'hist-race', 1)).rejects.toMatchObject({ code: 'CONFLICT' });
    const current = (await api('GET', '/playbooks/hist-race', { token: h.tokenA })).body as StoredPlaybook;
    expect([current.version, current.description]).toEqual([3, 'calls c']);
  });

  it('a version that no longer passes validation is a 422 naming the problem', async () => {
    await h.createPlaybook(marked('hist-stale', 'ok'));
    await put('hist-stale', marked('hist-stale', 'ok2'));
    // Version 1 as an older service could have stored it: a field the current schema refuses.
    await getDb()
      .collection(COLLECTIONS.playbookVersions)
      .updateOne({ name: 'hist-stale', version: 1 }, { $set: { 'tasks.0.retries': 3 } });
    const res = await api('POST', '/playbooks/hist-stale/versions/1/restore', { token: h.tokenA });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'UNPROCESSABLE' } });
    expect(JSON.stringify(res.body)).toContain('tasks[0]');
    expect(((await api('GET', '/playbooks/hist-stale', { token: h.tokenA })).body as StoredPlaybook).version).toBe(2);
  });
});
