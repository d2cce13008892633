/**
 * Playbook definitions in `playbook_collection` (current version, _id = pid) and
 * `playbook_versions` (every superseded or deleted version), always scoped by tenant.
 * Updates are optimistic: the replace only matches the version that was read. Each write
 * carries its audit entry (audit-outbox.ts); an audited delete first turns the document
 * into a tombstone (`deleted_at`), which no read returns and the outbox then removes.
 */
import { type Db, MongoServerError } from 'mongodb';
import type { AuditEntry } from '../../domain/audit.js';
import type { StoredPlaybook } from '../../engine/model.js';
import type { PlaybookStore, PlaybookSummary, PlaybookVersionSummary } from '../../engine/ports/playbook-store.js';
import { ConflictError } from '../../errors.js';
import { timedDbCall } from '../../observability.js';
import { type PendingDoc, settleDocs } from './audit-outbox.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';

type PlaybookDoc = StoredPlaybook & { _id: string; audit_pending?: AuditEntry[]; deleted_at?: number | null };
type VersionDoc = StoredPlaybook & { _id: string; archived_at: number };

const DUPLICATE_KEY = 11000;

export const PLAYBOOK_QUERIES = defineQueries('playbooks', {
  // `deleted_at: null` leaves out tombstones (missing or null both match).
  byName: {
    collection: COLLECTIONS.playbooks,
    index: 'tenant_name_unique',
    prefix: ['tenant_code', 'name'],
    residual: ['deleted_at'],
  },
  // No status/category filter: the unique name index returns the page in name order.
  listAll: {
    collection: COLLECTIONS.playbooks,
    index: 'tenant_name_unique',
    prefix: ['tenant_code', 'name'],
    residual: ['deleted_at'],
    sort: { key: { name: 1 }, by: 'index' },
  },
  // Filtered: the original Go service's index narrows to the tenant's matching playbooks (hundreds at most), sorted in memory.
  listFiltered: {
    collection: COLLECTIONS.playbooks,
    index: 'tenant_status_category',
    prefix: ['tenant_code', 'status', 'category_id'],
    residual: ['name', 'deleted_at'],
    sort: { key: { name: 1 }, by: 'memory' },
  },
  // The optimistic condition: this pid, still at the version the caller read (and not deleted).
  atVersion: {
    collection: COLLECTIONS.playbooks,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'version', 'deleted_at'],
  },
  // A playbook's archived versions, newest first.
  versionsOf: {
    collection: COLLECTIONS.playbookVersions,
    index: 'tenant_pid_version_unique',
    prefix: ['tenant_code', 'pid', 'version'],
    sort: { key: { version: -1 }, by: 'index' },
  },
  versionOf: {
    collection: COLLECTIONS.playbookVersions,
    index: 'tenant_pid_version_unique',
    prefix: ['tenant_code', 'pid', 'version'],
  },
});

/** What no read returns: the outbox's fields. */
const INTERNAL = { _id: 0, audit_pending: 0, deleted_at: 0 } as const;
const SUMMARY_PROJECTION = { ...INTERNAL, tasks: 0 } as const;

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

  /**
   * Finishes the deletion of the tenant's playbook `name` if a tombstone of it is left (its
   * writer died before the outbox removed it): true if there was one.
   */
  async function settleTombstone(tenant_code: string, name: string): Promise<boolean> {
    // index: tenant_name_unique
    const doc = await timedDbCall(() =>
      col.findOne<PendingDoc>(indexed(PLAYBOOK_QUERIES.byName, { tenant_code, name, deleted_at: { $ne: null } }), {
        projection: { _id: 1, tenant_code: 1, audit_pending: 1, deleted_at: 1 },
      }),
    );
    if (!doc) return false;
    await settleDocs(db, 'playbook', [doc]);
    return true;
  }

  return {
    async create(playbook, audit) {
      const doc: PlaybookDoc = { _id: playbook.pid, ...playbook, ...(audit ? { audit_pending: [audit] } : {}) };
      for (let attempt = 1; ; attempt += 1) {
        try {
          await timedDbCall(() => col.insertOne(doc));
          return;
        } catch (err) {
          if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
          // The name may be held by the tombstone of a deletion whose writer died: finish it, once.
          if (attempt === 1 && (await settleTombstone(playbook.tenant_code, playbook.name))) continue;
          throw new ConflictError(`playbook '${playbook.name}' already exists`, [
            { path: 'name', message: 'already exists' },
          ]);
        }
      }
    },

    async findByName(tenant_code, name) {
      // index: tenant_name_unique
      return timedDbCall(() =>
        col.findOne(indexed(PLAYBOOK_QUERIES.byName, { tenant_code, name, deleted_at: null }), {
          projection: INTERNAL,
        }),
      );
    },

    async list(tenant_code, query) {
      const after = query.after === undefined ? {} : { name: { $gt: query.after } };
      if (query.status === undefined && query.category_id === undefined) {
        // index: tenant_name_unique (filter, `after` range and order)
        const q = PLAYBOOK_QUERIES.listAll;
        return timedDbCall(() =>
          col
            .find<PlaybookSummary>(indexed(q, { tenant_code, ...after, deleted_at: null }), {
              projection: SUMMARY_PROJECTION,
            })
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
          .find<PlaybookSummary>(indexed(q, { tenant_code, status, ...category, ...after, deleted_at: null }), {
            projection: SUMMARY_PROJECTION,
          })
          .sort(sortOf(q))
          .limit(query.limit)
          .toArray(),
      );
    },

    async replace(current, next, audit) {
      // Archive first: a crash between the two steps leaves an extra copy, never a lost version.
      await archive(current);
      const { pid: _pid, tenant_code: _tenant, createddate: _created, ...fields } = next;
      const unset = {
        ...(next.description === undefined ? { description: '' as const } : {}),
        ...(next.category_id === undefined ? { category_id: '' as const } : {}),
        ...(next.updated_by === undefined ? { updated_by: '' as const } : {}),
      };
      // index: _id
      const res = await timedDbCall(() =>
        col.findOneAndUpdate(
          indexed(PLAYBOOK_QUERIES.atVersion, {
            _id: current.pid,
            tenant_code: current.tenant_code,
            version: current.version,
            deleted_at: null,
          }),
          {
            $set: fields,
            ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
            ...(audit ? { $push: { audit_pending: audit } } : {}),
          },
          { returnDocument: 'after', projection: { _id: 1 } },
        ),
      );
      return res !== null;
    },

    async remove(current, audit) {
      await archive(current);
      const key = { _id: current.pid, tenant_code: current.tenant_code, version: current.version, deleted_at: null };
      if (audit) {
        // One write makes the deletion and carries its entry: a tombstone, removed by the outbox.
        // index: _id
        const res = await timedDbCall(() =>
          col.updateOne(indexed(PLAYBOOK_QUERIES.atVersion, key), {
            $set: { deleted_at: audit.at },
            $push: { audit_pending: audit },
          }),
        );
        return res.matchedCount === 1;
      }
      // index: _id
      const res = await timedDbCall(() => col.deleteOne(indexed(PLAYBOOK_QUERIES.atVersion, key)));
      return res.deletedCount === 1;
    },

    async listVersions(tenant_code, pid, query) {
      // index: tenant_pid_version_unique (filter and order)
      return timedDbCall(() =>
        versions
          .find<PlaybookVersionSummary>(
            indexed(PLAYBOOK_QUERIES.versionsOf, { tenant_code, pid, version: { $lt: query.before } }),
            { projection: { _id: 0, version: 1, updateddate: 1, updated_by: 1 } },
          )
          .sort(sortOf(PLAYBOOK_QUERIES.versionsOf))
          .limit(query.limit)
          .toArray(),
      );
    },

    async getVersion(tenant_code, pid, version) {
      // index: tenant_pid_version_unique
      return timedDbCall(() =>
        versions.findOne<StoredPlaybook>(indexed(PLAYBOOK_QUERIES.versionOf, { tenant_code, pid, version }), {
          projection: { _id: 0, archived_at: 0 },
        }),
      );
    },
  };
}
