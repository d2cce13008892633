/**
 * Playbook definitions in `playbook_collection` (current version, _id = pid) and
 * `playbook_versions` (every superseded or deleted version), always scoped by tenant.
 * Updates are optimistic: the replace only matches the version that was read.
 */
import { type Db, MongoServerError } from 'mongodb';
import type { StoredPlaybook } from '../../engine/model.js';
import type { PlaybookStore, PlaybookSummary } from '../../engine/ports.js';
import { ConflictError } from '../../errors.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';

type PlaybookDoc = StoredPlaybook & { _id: string };
type VersionDoc = StoredPlaybook & { _id: string; archived_at: number };

const DUPLICATE_KEY = 11000;

export const PLAYBOOK_QUERIES = defineQueries('playbooks', {
  byName: { collection: COLLECTIONS.playbooks, index: 'tenant_name_unique', prefix: ['tenant_code', 'name'] },
  // No status/category filter: the unique name index returns the page in name order.
  listAll: {
    collection: COLLECTIONS.playbooks,
    index: 'tenant_name_unique',
    prefix: ['tenant_code', 'name'],
    sort: { key: { name: 1 }, by: 'index' },
  },
  // Filtered: the seed's index narrows to the tenant's matching playbooks (hundreds at most), sorted in memory.
  listFiltered: {
    collection: COLLECTIONS.playbooks,
    index: 'tenant_status_category',
    prefix: ['tenant_code', 'status', 'category_id'],
    residual: ['name'],
    sort: { key: { name: 1 }, by: 'memory' },
  },
  // The optimistic condition: this pid, still at the version the caller read.
  atVersion: {
    collection: COLLECTIONS.playbooks,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'version'],
  },
});

const SUMMARY_PROJECTION = { _id: 0, tasks: 0 } as const;

/** A PlaybookStore over the given database. */
export function createPlaybookStore(db: Db): PlaybookStore {
  const col = db.collection<PlaybookDoc>(COLLECTIONS.playbooks);
  const versions = db.collection<VersionDoc>(COLLECTIONS.playbookVersions);

  /** Keeps `p` in the history; an already archived version (retry, concurrent writer) is fine. */
  async function archive(p: StoredPlaybook): Promise<void> {
    try {
      await timedDbCall(() => versions.insertOne({ _id: `${p.pid}:${p.version}`, ...p, archived_at: Date.now() }));
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
    }
  }

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
      return timedDbCall(() =>
        col.findOne(indexed(PLAYBOOK_QUERIES.byName, { tenant_code, name }), { projection: { _id: 0 } }),
      );
    },

    async list(tenant_code, query) {
      const after = query.after === undefined ? {} : { name: { $gt: query.after } };
      if (query.status === undefined && query.category_id === undefined) {
        // index: tenant_name_unique (filter, `after` range and order)
        const q = PLAYBOOK_QUERIES.listAll;
        return timedDbCall(() =>
          col
            .find<PlaybookSummary>(indexed(q, { tenant_code, ...after }), { projection: SUMMARY_PROJECTION })
            .sort(sortOf(q))
            .limit(query.limit)
            .toArray(),
        );
      }
      // index: tenant_status_category
      const q = PLAYBOOK_QUERIES.listFiltered;
      // Both statuses when only the category is given, so the filter stays a prefix of the index.
      const status = query.status ?? { $in: ['active' as const, 'inactive' as const] };
      const category = query.category_id === undefined ? {} : { category_id: query.category_id };
      return timedDbCall(() =>
        col
          .find<PlaybookSummary>(indexed(q, { tenant_code, status, ...category, ...after }), {
            projection: SUMMARY_PROJECTION,
          })
          .sort(sortOf(q))
          .limit(query.limit)
          .toArray(),
      );
    },

    async replace(current, next) {
      // Archive first: a crash between the two steps leaves an extra copy, never a lost version.
      await archive(current);
      const { pid: _pid, tenant_code: _tenant, createddate: _created, ...fields } = next;
      const unset = {
        ...(next.description === undefined ? { description: '' as const } : {}),
        ...(next.category_id === undefined ? { category_id: '' as const } : {}),
      };
      // index: _id
      const res = await timedDbCall(() =>
        col.findOneAndUpdate(
          indexed(PLAYBOOK_QUERIES.atVersion, {
            _id: current.pid,
            tenant_code: current.tenant_code,
            version: current.version,
          }),
          { $set: fields, ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}) },
          { returnDocument: 'after', projection: { _id: 1 } },
        ),
      );
      return res !== null;
    },

    async remove(current) {
      await archive(current);
      // index: _id
      const res = await timedDbCall(() =>
        col.deleteOne(
          indexed(PLAYBOOK_QUERIES.atVersion, {
            _id: current.pid,
            tenant_code: current.tenant_code,
            version: current.version,
          }),
        ),
      );
      return res.deletedCount === 1;
    },
  };
}
