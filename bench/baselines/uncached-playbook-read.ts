/**
 * Baseline of case 3: the original Go service's "current" playbook read, MongoDB on every call
 * (findOne by tenant and name on the unique index), no cache.
 */
import type { Db } from 'mongodb';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import type { StoredPlaybook } from '../../lib/engine/model.js';

/** A reader going to MongoDB every time. */
export function uncachedPlaybookReader(db: Db): (tenant_code: string, name: string) => Promise<StoredPlaybook | null> {
  const col = db.collection<StoredPlaybook & { _id: string }>(COLLECTIONS.playbooks);
  return (tenant_code, name) => col.findOne({ tenant_code, name }, { projection: { _id: 0 } });
}
