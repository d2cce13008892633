/**
 * Creating, reading, listing, replacing and deleting playbook definitions. Every write
 * records who made it (`updated_by`, the caller's sub) and carries its audit entry.
 */
import type { PlaybookInput } from '../domain/playbook-schema.js';
import { parsePlaybook } from '../domain/playbook-validation.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { recordAudit } from './audit.js';
import { playbookEntry, playbookSource } from './audit-entries.js';
import { pageOf } from './cursor.js';
import type { StoredPlaybook } from './model.js';
import type { AuditOutbox } from './ports/audit.js';
import type { PlaybookListQuery, PlaybookStore, PlaybookSummary } from './ports/playbook-store.js';
import { assertNoPlaybookCycle } from './sub-playbooks.js';
import { assertWithinWorkBudget, DEFAULT_WORK_LIMITS, type WorkLimits } from './work-budget.js';

/** The checks across playbooks: no cycle of sub-playbooks, and the work a run creates within the budget. */
export async function assertRunnable(
  store: PlaybookStore,
  tenant_code: string,
  def: PlaybookInput,
  limits: WorkLimits = DEFAULT_WORK_LIMITS,
): Promise<void> {
  const source = { getByName: (t: string, n: string) => store.findByName(t, n) };
  await assertNoPlaybookCycle(source, tenant_code, def.name, def.tasks);
  await assertWithinWorkBudget(source, tenant_code, def.name, def.tasks, limits);
}

/** Who writes, when, and where the audit entry goes. */
export interface PlaybookWrite {
  tenant_code: string;
  /** The caller's sub: `updated_by` and the entry's actor. */
  actor: string;
  now: number;
  audit: AuditOutbox;
  /** The work budget a run of the playbook must fit (save-time check). */
  limits?: WorkLimits;
}

/** The stored shape of a validated definition (optional fields absent rather than undefined). */
export function definitionFields(
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
  w: PlaybookWrite,
  input: unknown,
  newId: () => string,
): Promise<StoredPlaybook> {
  const def = parsePlaybook(input);
  await assertRunnable(store, w.tenant_code, def, w.limits);
  const playbook: StoredPlaybook = {
    pid: newId(),
    tenant_code: w.tenant_code,
    ...definitionFields(def),
    version: 1,
    createddate: w.now,
    updateddate: w.now,
    updated_by: w.actor,
  };
  const entry = playbookEntry('playbook.create', playbook, w.actor, w.now);
  await store.create(playbook, entry);
  await recordAudit(w.audit, playbookSource(playbook), entry);
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
  return pageOf(rows, query.limit, (last) => last.name);
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
export async function lostRace(store: PlaybookStore, tenant_code: string, name: string): Promise<never> {
  if (!(await store.findByName(tenant_code, name))) throw new NotFoundError(`playbook '${name}' not found`);
  throw new ConflictError(`playbook '${name}' was changed by another request; read it and retry`, [
    { path: 'version', message: 'changed concurrently' },
  ]);
}

/**
 * Stores `def` as version current + 1 (the old version is kept in the history), if nobody
 * changed the playbook since `current` was read; 409 otherwise. Runs already started keep
 * their own copy of the tasks.
 */
export async function writeNextVersion(
  store: PlaybookStore,
  w: PlaybookWrite,
  current: StoredPlaybook,
  def: PlaybookInput,
  audit: { action: 'playbook.update' | 'playbook.restore'; details: Record<string, number> },
): Promise<StoredPlaybook> {
  const next: StoredPlaybook = {
    pid: current.pid,
    tenant_code: w.tenant_code,
    ...definitionFields(def),
    version: current.version + 1,
    createddate: current.createddate,
    updateddate: w.now,
    updated_by: w.actor,
  };
  const entry = playbookEntry(audit.action, next, w.actor, w.now, {
    previous_version: current.version,
    ...audit.details,
  });
  if (!(await store.replace(current, next, entry))) return lostRace(store, w.tenant_code, current.name);
  await recordAudit(w.audit, playbookSource(next), entry);
  return next;
}

/** Replaces the tenant's playbook with a full new definition at version + 1. */
export async function updatePlaybook(
  store: PlaybookStore,
  w: PlaybookWrite,
  name: string,
  input: unknown,
): Promise<StoredPlaybook> {
  const def = parsePlaybook(withPathName(input, name));
  await assertRunnable(store, w.tenant_code, def, w.limits);
  const current = await getPlaybook(store, w.tenant_code, name);
  return writeNextVersion(store, w, current, def, { action: 'playbook.update', details: {} });
}

/** Deletes the tenant's playbook (kept in the history); runs in flight carry their own definitions. */
export async function deletePlaybook(store: PlaybookStore, w: PlaybookWrite, name: string): Promise<void> {
  const current = await getPlaybook(store, w.tenant_code, name);
  const entry = playbookEntry('playbook.delete', current, w.actor, w.now);
  if (!(await store.remove(current, entry))) await lostRace(store, w.tenant_code, name);
  await recordAudit(w.audit, playbookSource(current, true), entry);
}
