/** Playbook definitions in `playbook_collection`, always scoped by tenant. */
import { type Db, MongoServerError } from 'mongodb';
import type { StoredPlaybook } from '../../engine/model.js';
import type { PlaybookStore } from '../../engine/ports.js';
import { ConflictError } from '../../errors.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';

type PlaybookDoc = StoredPlaybook & { _id: string };

const DUPLICATE_KEY = 11000;

/** A PlaybookStore over the given database. */
export function createPlaybookStore(db: Db): PlaybookStore {
  const col = db.collection<PlaybookDoc>(COLLECTIONS.playbooks);
  return {
    async create(playbook) {
      try {
        await timedDbCall(() => col.insertOne({ _id: playbook.pid, ...playbook }));
      } catch (err) {
        if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) {
          throw new ConflictError(`playbook '${playbook.name}' already exists`, [
            { path: 'name', message: 'already exists' },
          ]);
        }
        throw err;
      }
    },
    async findByName(tenant_code, name) {
      // index: tenant_name_unique
      const doc = await timedDbCall(() => col.findOne({ tenant_code, name }, { projection: { _id: 0 } }));
      return doc;
    },
  };
}
