/**
 * A change and its audit entry are both visible after recovery, or neither is, whatever point
 * a writer dies at (docs/audit.md). Faults are injected by wrapping the ports, as
 * test/reliability/consumer-crash.test.ts does: an outbox that never returns from publish
 * (the process died there, before or after copying the entry), a store whose write is applied
 * and then reported failed (the answer was lost), and one whose write fails before it applies.
 * Recovery is what runs later: GET /audit's flush (entries pending for longer than the grace),
 * the sweep (reapRuns), the next write to the same document.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { getDb } from '../../lib/clients.js';
import { getConfig } from '../../lib/config.js';
import { listAudit, sweepAudit } from '../../lib/engine/audit.js';
import { restorePlaybookVersion } from '../../lib/engine/playbook-versions.js';
import { createPlaybook, deletePlaybook, type PlaybookWrite, updatePlaybook } from '../../lib/engine/playbooks.js';
import type { AuditOutbox } from '../../lib/engine/ports/audit.js';
import type { PlaybookStore } from '../../lib/engine/ports/playbook-store.js';
import type { RunStore } from '../../lib/engine/ports/run-store.js';
import { redriveRun } from '../../lib/engine/redrive.js';
import { cancelRun } from '../../lib/engine/runs.js';
import { startRun } from '../../lib/engine/start-run.js';
import { auditLog, playbookCatalog, redriveDeps, runStore, startRunDeps, taskQueue } from '../../lib/wiring/index.js';
import { api } from '../support/api.js';
import { dieInPublish, inLog, pendingIds } from '../support/audit-faults.js';
import { createHarness, type Harness } from '../support/harness.js';

let h: Harness;
const TENANT = 'tenant-a';
const ACTOR = 'analyst-a';
const grace = () => getConfig('audit').AUDIT_OUTBOX_GRACE_MS;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const write = (audit: AuditOutbox): PlaybookWrite => ({ tenant_code: TENANT, actor: ACTOR, now: Date.now(), audit });

const playbook = (name: string, path = 'ok/crash') => ({
  name,
  tasks: [{ id: 'a', type: 'http', config: { method: 'GET', url: `${h.stub.url}/${path}` } }],
});

/** Recovery by a reader: GET /audit's flush, as it runs once the grace has passed. */
async function readerRecovers(): Promise<string[]> {
  const page = await listAudit(auditLog(), TENANT, { limit: 200 }, { now: Date.now() + grace() + 1, graceMs: grace() });
  return page.items.map((e) => e.id);
}

async function getPlaybook(name: string) {
  return api('GET', `/playbooks/${name}`, { token: h.tokenA });
}

/** A failed run of a playbook whose only task gets a 404. */
async function failedRun(name: string): Promise<string> {
  await h.createPlaybook(playbook(name, 'status/404'));
  const peid = await h.startRun(name);
  const poller = h.poller().start();
  await h.waitFinished(peid);
  await poller.stop();
  return peid;
}

describe('a writer dies after its change, before its entry is copied: after recovery both are visible', () => {
  it('playbook.create, update, restore: the version is there at once; the entry after GET /audit recovers', async () => {
    const created = await dieInPublish(false, (o) =>
      createPlaybook(playbookCatalog(), write(o), playbook('crash-pb'), randomUUID),
    );
    expect((await getPlaybook('crash-pb')).status).toBe(200);
    const updated = await dieInPublish(false, (o) =>
      updatePlaybook(playbookCatalog(), write(o), 'crash-pb', playbook('crash-pb', 'ok/2')),
    );
    const restored = await dieInPublish(false, (o) =>
      restorePlaybookVersion(playbookCatalog(), write(o), 'crash-pb', 1),
    );
    expect((await getPlaybook('crash-pb')).body).toMatchObject({ version: 3, updated_by: ACTOR });
    const ids = [created.id, updated.id, restored.id];
    expect(await Promise.all(ids.map(inLog))).toEqual([0, 0, 0]);
    expect(await pendingIds()).toEqual(expect.arrayContaining(ids));

    const listed = await readerRecovers();
    expect(listed.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    expect(await Promise.all(ids.map(inLog))).toEqual([1, 1, 1]);
    expect(await pendingIds()).toEqual([]);
    expect([created.action, updated.action, restored.action]).toEqual([
      'playbook.create',
      'playbook.update',
      'playbook.restore',
    ]);
  });

  it('playbook.delete: gone for every reader at once (a tombstone); recovery lists the entry and removes the tombstone', async () => {
    await h.createPlaybook(playbook('crash-del'));
    const entry = await dieInPublish(false, (o) => deletePlaybook(playbookCatalog(), write(o), 'crash-del'));
    expect((await getPlaybook('crash-del')).status).toBe(404);
    const listedNames = (await api('GET', '/playbooks', { token: h.tokenA })).body as {
      items: Array<{ name: string }>;
    };
    expect(listedNames.items.map((p) => p.name)).not.toContain('crash-del');
    expect(await getDb().collection(COLLECTIONS.playbooks).countDocuments({ name: 'crash-del' })).toBe(1);
    expect(await inLog(entry.id)).toBe(0);

    expect(await readerRecovers()).toContain(entry.id);
    expect(await inLog(entry.id)).toBe(1);
    expect(await getDb().collection(COLLECTIONS.playbooks).countDocuments({ name: 'crash-del' })).toBe(0);
  });

  it('run.start, run.cancel, run.redrive: the run changed at once; the entries after the sweep recovers', async () => {
    await h.createPlaybook(playbook('crash-run'));
    let peid = '';
    const start = await dieInPublish(false, async (o) => {
      const deps = { ...startRunDeps(), audit: o, newId: () => (peid = randomUUID()) };
      return startRun(
        deps,
        { tenant_code: TENANT, sub: ACTOR },
        { playbook_name: 'crash-run', alert_id: 'x', alert: {} },
      );
    });
    expect((await h.execution(peid)).execution_status).toBe('running');
    const cancel = await dieInPublish(false, (o) =>
      cancelRun(runStore(), { tenant_code: TENANT, peid }, Date.now(), taskQueue(), { outbox: o, actor: ACTOR }),
    );
    expect((await h.execution(peid)).execution_status).toBe('cancelled');
    const failed = await failedRun('crash-redrive');
    const redrive = await dieInPublish(false, (o) =>
      redriveRun({ ...redriveDeps(), audit: o }, { tenant_code: TENANT, peid: failed }, ACTOR),
    );
    expect((await h.execution(failed)).execution_status).toBe('running');
    const ids = [start.id, cancel.id, redrive.id];
    expect(await Promise.all(ids.map(inLog))).toEqual([0, 0, 0]);

    // The sweep before the grace leaves entries of writers that may still be running alone.
    expect((await sweepAudit(auditLog(), { now: Date.now(), graceMs: grace(), limit: 100 })).published).toBe(0);
    const swept = await sweepAudit(auditLog(), { now: Date.now() + grace() + 1, graceMs: grace(), limit: 100 });
    expect(swept.published).toBe(3);
    expect(await Promise.all(ids.map(inLog))).toEqual([1, 1, 1]);
    expect(await pendingIds()).toEqual([]);
    const listed = await readerRecovers();
    expect(listed.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
  });
});

describe('a writer dies after copying its entry, before clearing it: recovery adds no second entry', () => {
  it('each action once in the log, nothing left pending; a tombstone is finished by the next create of its name', async () => {
    await h.createPlaybook(playbook('crash-copied'));
    const upd = await dieInPublish(true, (o) =>
      updatePlaybook(playbookCatalog(), write(o), 'crash-copied', playbook('crash-copied', 'ok/3')),
    );
    const del = await dieInPublish(true, (o) => deletePlaybook(playbookCatalog(), write(o), 'crash-copied'));
    expect([await inLog(upd.id), await inLog(del.id)]).toEqual([1, 1]);
    expect(await pendingIds()).toEqual(expect.arrayContaining([upd.id, del.id]));

    // The next write to that name: a create finds the tombstone and finishes the deletion first.
    await h.createPlaybook(playbook('crash-copied'));
    expect(((await getPlaybook('crash-copied')).body as { version: number }).version).toBe(1);
    expect([await inLog(upd.id), await inLog(del.id)]).toEqual([1, 1]);
    expect(await pendingIds()).toEqual([]);
    const listed = await readerRecovers();
    expect(listed.filter((id) => id === upd.id || id === del.id).sort()).toEqual([del.id, upd.id].sort());
  });

  it('the next audited write to a run publishes what an earlier writer left on it', async () => {
    await h.createPlaybook(playbook('crash-next'));
    let peid = '';
    const start = await dieInPublish(false, async (o) => {
      const deps = { ...startRunDeps(), audit: o, newId: () => (peid = randomUUID()) };
      return startRun(
        deps,
        { tenant_code: TENANT, sub: ACTOR },
        { playbook_name: 'crash-next', alert_id: 'y', alert: {} },
      );
    });
    expect(await inLog(start.id)).toBe(0);
    // A cancel through the API, by a live writer: its publish also copies the start's entry.
    expect((await api('POST', `/executions/${peid}/cancel`, { token: h.tokenA })).status).toBe(202);
    expect(await inLog(start.id)).toBe(1);
    expect(await pendingIds()).toEqual([]);
  });
});

describe('a change that did not happen leaves no entry, before or after recovery', () => {
  it('a write that fails before it applies', async () => {
    await h.createPlaybook(playbook('crash-none'));
    const refusing: PlaybookStore = {
      ...playbookCatalog(),
      replace: async () => {
        throw new Error('injected: the database refused the write');
      },
    };
    const w = write(auditLog());
    await expect(updatePlaybook(refusing, w, 'crash-none', playbook('crash-none', 'ok/4'))).rejects.toThrow(/injected/);
    expect(((await getPlaybook('crash-none')).body as { version: number }).version).toBe(1);
    expect(await inLog(`playbook:${((await getPlaybook('crash-none')).body as { pid: string }).pid}:v2`)).toBe(0);
    expect(await pendingIds()).toEqual([]);
  });

  it('a run start whose write is reported failed is removed with its pending entry (compensation)', async () => {
    await h.createPlaybook(playbook('crash-insert'));
    const real = runStore();
    const runs: RunStore = {
      ...real,
      insertRun: async (exec, tasks) => {
        await real.insertRun(exec, tasks);
        throw new Error('injected: the answer to the insert was lost');
      },
    };
    let peid = '';
    const deps = { ...startRunDeps(), runs, newId: () => (peid = randomUUID()) };
    await expect(
      startRun(deps, { tenant_code: TENANT, sub: ACTOR }, { playbook_name: 'crash-insert', alert_id: 'z', alert: {} }),
    ).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect((await api('GET', `/executions/${peid}`, { token: h.tokenA })).status).toBe(404);
    const listed = await readerRecovers();
    expect(listed).not.toContain(`execution:${peid}:start:1`);
    expect(await inLog(`execution:${peid}:start:1`)).toBe(0);
  });

  it('a redrive that loses its race (the run changed meanwhile) is a 409 and records nothing', async () => {
    const peid = await failedRun('crash-race');
    const real = runStore();
    const runs: RunStore = { ...real, reopenRun: async () => false };
    await expect(redriveRun({ ...redriveDeps(), runs }, { tenant_code: TENANT, peid }, ACTOR)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    const listed = await readerRecovers();
    expect(listed).not.toContain(`execution:${peid}:redrive:2`);
    expect(await pendingIds()).toEqual([]);
  });
});
