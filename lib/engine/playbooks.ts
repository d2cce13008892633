/** Creating, reading, listing, replacing and deleting playbook definitions. */
import type { PlaybookInput } from '../domain/playbook-schema.js';
import { parsePlaybook } from '../domain/playbook-validation.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { StoredPlaybook } from './model.js';
import type { PlaybookListQuery, PlaybookStore, PlaybookSummary } from './ports.js';
import { assertNoPlaybookCycle } from './sub-playbooks.js';
import { assertWithinWorkBudget, DEFAULT_WORK_LIMITS, type WorkLimits } from './work-budget.js';

/** The checks across playbooks: no cycle of sub-playbooks, and the work a run creates within the budget. */
async function assertRunnable(
  store: PlaybookStore,
  tenant_code: string,
  def: PlaybookInput,
  limits: WorkLimits,
): Promise<void> {
  const source = { getByName: (t: string, n: string) => store.findByName(t, n) };
  await assertNoPlaybookCycle(source, tenant_code, def.name, def.tasks);
  await assertWithinWorkBudget(source, tenant_code, def.name, def.tasks, limits);
}

/** The stored shape of a validated definition (optional fields absent rather than undefined). */
function definitionFields(
  def: PlaybookInput,
): Pick<StoredPlaybook, 'name' | 'description' | 'category_id' | 'status' | 'tasks'> {
  return {
    name: def.name,
    ...(def.description !== undefined ? { description: def.description } : {}),
    ...(def.category_id !== undefined ? { category_id: def.category_id } : {}),
    status: def.status,
    tasks: def.tasks,
  };
}

/** Validates and stores a new playbook (version 1) for the tenant. */
export async function createPlaybook(
  store: PlaybookStore,
  tenant_code: string,
  input: unknown,
  ids: { newId: () => string; now: number },
  limits: WorkLimits = DEFAULT_WORK_LIMITS,
): Promise<StoredPlaybook> {
  const def = parsePlaybook(input);
  await assertRunnable(store, tenant_code, def, limits);
  const playbook: StoredPlaybook = {
    pid: ids.newId(),
    tenant_code,
    ...definitionFields(def),
    version: 1,
    createddate: ids.now,
    updateddate: ids.now,
  };
  await store.create(playbook);
  return playbook;
}

/** The tenant's playbook by name; 404 for unknown or another tenant's. */
export async function getPlaybook(store: PlaybookStore, tenant_code: string, name: string): Promise<StoredPlaybook> {
  const p = await store.findByName(tenant_code, name);
  if (!p) throw new NotFoundError(`playbook '${name}' not found`);
  return p;
}

export interface PlaybookPage {
  items: PlaybookSummary[];
  /** The `after` value of the next page, or null on the last one. */
  next: string | null;
}

/** A page of the tenant's playbooks in name order, optionally by status and category. */
export async function listPlaybooks(
  store: PlaybookStore,
  tenant_code: string,
  query: PlaybookListQuery,
): Promise<PlaybookPage> {
  const rows = await store.list(tenant_code, { ...query, limit: query.limit + 1 });
  const items = rows.slice(0, query.limit);
  const last = items[items.length - 1];
  return { items, next: rows.length > query.limit && last ? last.name : null };
}

/** A body naming another playbook than the path would rename it: refused, naming `name`. */
function withPathName(input: unknown, name: string): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const body = input as Record<string, unknown>;
  if (body.name === undefined) return { ...body, name };
  if (body.name !== name) {
    throw new ValidationError('the body names another playbook than the path', [
      { path: 'name', message: `must be '${name}' (the path's name) or omitted; playbooks cannot be renamed` },
    ]);
  }
  return body;
}

/** The race was lost: 404 if the playbook is gone, else 409 (someone else changed it first). */
async function lostRace(store: PlaybookStore, tenant_code: string, name: string): Promise<never> {
  if (!(await store.findByName(tenant_code, name))) throw new NotFoundError(`playbook '${name}' not found`);
  throw new ConflictError(`playbook '${name}' was changed by another request; read it and retry`, [
    { path: 'version', message: 'changed concurrently' },
  ]);
}

/**
 * Replaces the tenant's playbook with a full new definition at version + 1; the old
 * version is kept in the history. Runs already started keep their own copy of the tasks.
 */
export async function updatePlaybook(
  store: PlaybookStore,
  tenant_code: string,
  name: string,
  input: unknown,
  now: number,
  limits: WorkLimits = DEFAULT_WORK_LIMITS,
): Promise<StoredPlaybook> {
  const def = parsePlaybook(withPathName(input, name));
  await assertRunnable(store, tenant_code, def, limits);
  const current = await getPlaybook(store, tenant_code, name);
  const next: StoredPlaybook = {
    pid: current.pid,
    tenant_code,
    ...definitionFields(def),
    version: current.version + 1,
    createddate: current.createddate,
    updateddate: now,
  };
  if (!(await store.replace(current, next))) return lostRace(store, tenant_code, name);
  return next;
}

/** Deletes the tenant's playbook (kept in the history); runs in flight carry their own definitions. */
export async function deletePlaybook(store: PlaybookStore, tenant_code: string, name: string): Promise<void> {
  const current = await getPlaybook(store, tenant_code, name);
  if (!(await store.remove(current))) await lostRace(store, tenant_code, name);
}
