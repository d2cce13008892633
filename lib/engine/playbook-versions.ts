/**
 * A playbook's history: every version it had (the current one from the playbook itself,
 * the earlier ones from the archive every write keeps), one version's full definition,
 * and restoring a version as a new one. Runs are pinned to the tasks they copied when they
 * started, so a restore changes only the runs started after it.
 */
import { parsePlaybook } from '../domain/playbook-validation.js';
import { AppError, NotFoundError, UnprocessableError } from '../errors.js';
import type { StoredPlaybook } from './model.js';
import { assertRunnable, getPlaybook, type PlaybookWrite, writeNextVersion } from './playbooks.js';
import type { PlaybookStore, PlaybookVersionSummary } from './ports/playbook-store.js';

export interface VersionItem {
  version: number;
  updateddate: number;
  /** The sub of whoever wrote that version; null for versions written before it was recorded. */
  updated_by: string | null;
}

export interface VersionPage {
  items: VersionItem[];
  /** The `before` of the next page (the last version listed), or null on the last one. */
  next: number | null;
}

function item(v: PlaybookVersionSummary): VersionItem {
  return { version: v.version, updateddate: v.updateddate, updated_by: v.updated_by ?? null };
}

/** The versions of the tenant's playbook, newest first, `limit` per page, those below `before`. */
export async function listPlaybookVersions(
  store: PlaybookStore,
  tenant_code: string,
  name: string,
  query: { limit: number; before?: number },
): Promise<VersionPage> {
  const current = await getPlaybook(store, tenant_code, name);
  const before = Math.min(query.before ?? Number.POSITIVE_INFINITY, current.version + 1);
  const head = current.version < before ? [item(current)] : [];
  // The archive can also hold a copy of the current version (a write that died between its two
  // steps, or lost a race): only versions below the current one come from there.
  const archived = await store.listVersions(tenant_code, current.pid, {
    before: Math.min(before, current.version),
    limit: query.limit + 1 - head.length,
  });
  const all = [...head, ...archived.map(item)];
  const items = all.slice(0, query.limit);
  const last = items[items.length - 1];
  return { items, next: all.length > query.limit && last ? last.version : null };
}

/** Version `version` of playbook `current` (its current version or an archived one), or null. */
async function versionOf(store: PlaybookStore, current: StoredPlaybook, version: number) {
  if (version === current.version) return current;
  return version < current.version ? store.getVersion(current.tenant_code, current.pid, version) : null;
}

/** Version `version` of the tenant's playbook, as it was written; 404 if it never existed. */
export async function getPlaybookVersion(
  store: PlaybookStore,
  tenant_code: string,
  name: string,
  version: number,
): Promise<StoredPlaybook> {
  const found = await versionOf(store, await getPlaybook(store, tenant_code, name), version);
  if (!found) throw new NotFoundError(`playbook '${name}' has no version ${version}`);
  return found;
}

/**
 * Restores version `version` of the tenant's playbook: a new version (current + 1) equal to
 * it — description, category, status and tasks. The optimistic check of PUT applies (409
 * if the playbook changed meanwhile). A version that no longer passes today's validation
 * (a rule added since, or a sub-playbook cycle through playbooks changed since) is 422.
 */
export async function restorePlaybookVersion(
  store: PlaybookStore,
  w: PlaybookWrite,
  name: string,
  version: number,
): Promise<StoredPlaybook> {
  const current = await getPlaybook(store, w.tenant_code, name);
  const chosen = await versionOf(store, current, version);
  if (!chosen) throw new NotFoundError(`playbook '${name}' has no version ${version}`);
  const { pid: _p, tenant_code: _t, version: _v, createddate: _c, updateddate: _u, updated_by: _b, ...def } = chosen;
  try {
    const parsed = parsePlaybook(def);
    await assertRunnable(store, w.tenant_code, parsed, w.limits);
    return await writeNextVersion(store, w, current, parsed, {
      action: 'playbook.restore',
      details: { restored_from: version },
    });
  } catch (err) {
    if (err instanceof AppError && err.code === 'VALIDATION_FAILED') {
      throw new UnprocessableError(`version ${version} of playbook '${name}' no longer passes validation`, err.details);
    }
    throw err;
  }
}
