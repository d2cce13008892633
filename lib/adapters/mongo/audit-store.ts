/**
 * The audit log in `audit_log`: reads per tenant, newest first, and the outbox that fills
 * it (audit-outbox.ts). Entries are inserted once and never updated; MongoDB's TTL index
 * removes them after the configured retention.
 */
import type { Db, Filter } from 'mongodb';
import type { AuditEntry } from '../../domain/audit.js';
import type { AuditLog, AuditSourceKind } from '../../engine/ports/audit.js';
import { timedDbCall } from '../../observability.js';
import { type AuditDoc, OUTBOX_COLLECTIONS, pendingDocs, publishEntries, settleDocs } from './audit-outbox.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, indexed, sortOf } from './indexed.js';

export const AUDIT_QUERIES = defineQueries('audit', {
  newest: {
    collection: COLLECTIONS.audit,
    index: 'audit_tenant_at',
    prefix: ['tenant_code', 'at', '_id'],
    sort: { key: { at: -1, _id: -1 }, by: 'index' },
  },
  newestOfAction: {
    collection: COLLECTIONS.audit,
    index: 'audit_tenant_action_at',
    prefix: ['tenant_code', 'action', 'at', '_id'],
    sort: { key: { at: -1, _id: -1 }, by: 'index' },
  },
});

/** How many pending documents a reader settles per collection before its page (crash leftovers only). */
const READER_FLUSH_LIMIT = 1_000;

function fromDoc(d: AuditDoc): AuditEntry {
  return {
    id: d._id,
    tenant_code: d.tenant_code,
    at: d.at,
    actor: d.actor,
    action: d.action,
    target: d.target,
    details: d.details,
  };
}

/** An AuditLog over the given database. */
export function createAuditLog(db: Db): AuditLog {
  const log = db.collection<AuditDoc>(COLLECTIONS.audit);
  const kinds = Object.keys(OUTBOX_COLLECTIONS) as AuditSourceKind[];

  return {
    publish: (source, entries) => publishEntries(db, source, entries),

    async list(tenant_code, query) {
      const filter: Filter<AuditDoc> = { tenant_code };
      if (query.action) filter.action = query.action;
      if (query.since !== undefined || query.until !== undefined) {
        filter.at = {
          ...(query.since !== undefined ? { $gte: query.since } : {}),
          ...(query.until !== undefined ? { $lt: query.until } : {}),
        };
      }
      if (query.before) {
        const { at, id } = query.before;
        filter.$or = [{ at: { $lt: at } }, { at, _id: { $lt: id } }];
      }
      // index: audit_tenant_action_at (with action) or audit_tenant_at (without), filter and order
      const spec = query.action ? AUDIT_QUERIES.newestOfAction : AUDIT_QUERIES.newest;
      const docs = await timedDbCall(() =>
        log
          .find(indexed(spec, filter), { projection: { at_date: 0 } })
          .sort(sortOf(spec))
          .limit(query.limit)
          .toArray(),
      );
      return docs.map(fromDoc);
    },

    async flushTenant(tenant_code, cutoff) {
      let n = 0;
      for (const kind of kinds) {
        n += await settleDocs(db, kind, await pendingDocs(db, kind, cutoff, READER_FLUSH_LIMIT, tenant_code));
      }
      return n;
    },

    async sweep(cutoff, limit) {
      let n = 0;
      for (const kind of kinds) n += await settleDocs(db, kind, await pendingDocs(db, kind, cutoff, limit));
      return n;
    },
  };
}
