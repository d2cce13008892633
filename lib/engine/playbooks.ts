/** Creating and reading playbook definitions. */
import { parsePlaybook } from '../domain/playbook-validation.js';
import { NotFoundError } from '../errors.js';
import type { StoredPlaybook } from './model.js';
import type { PlaybookStore } from './ports.js';

/** Validates and stores a new playbook (version 1) for the tenant. */
export async function createPlaybook(
  store: PlaybookStore,
  tenant_code: string,
  input: unknown,
  ids: { newId: () => string; now: number },
): Promise<StoredPlaybook> {
  const def = parsePlaybook(input);
  const playbook: StoredPlaybook = {
    pid: ids.newId(),
    tenant_code,
    name: def.name,
    ...(def.description !== undefined ? { description: def.description } : {}),
    ...(def.category_id !== undefined ? { category_id: def.category_id } : {}),
    status: def.status,
    tasks: def.tasks,
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
