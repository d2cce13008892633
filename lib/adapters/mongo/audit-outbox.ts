/**
 * The audit outbox on MongoDB (docs/audit.md). A change writes its entry into the changed
 * document's `audit_pending` list in the same single-document write; this module copies
 * pending entries into `audit_log` with inserts keyed by the entry id (a duplicate key means
 * the entry is already there) and then removes them from the document: `$pull` by id, or,
 * for a tombstone (a deletion), removing the document itself. Every step can be repeated,
 * so a crash anywhere is finished by the next attempt: the same request's retry, the next
 * audited write to that document, GET /audit or the scheduled sweep.
 */
import type { Db, Document } from 'mongodb';
import type { AuditEntry } from '../../domain/audit.js';
import type { AuditSource, AuditSourceKind } from '../../engine/ports/audit.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS, type CollectionName } from './collections.js';
import { defineQueries, ID_INDEX, indexed } from './indexed.js';

/** The field every audited collection uses for its pending entries. */
export const AUDIT_PENDING = 'audit_pending';

/** An entry as stored in audit_log (`at_date` is the TTL index's date). */
export interface AuditDoc extends Omit<AuditEntry, 'id'> {
  _id: string;
  at_date: Date;
}

/** A document carrying pending entries (a tombstone has `deleted_at`). */
export interface PendingDoc {
  _id: string;
  tenant_code: string;
  audit_pending?: AuditEntry[];
  deleted_at?: number | null;
}

/** One table per audited collection (the index-coverage test resolves each call to its own). */
function outboxQueries(
  kind: AuditSourceKind,
  collection: (typeof COLLECTIONS)[keyof typeof COLLECTIONS],
  index: string,
) {
  return defineQueries(`outbox.${kind}`, {
    // Sparse: only documents with pending entries are in the index (in-flight changes, crash leftovers).
    pendingSince: { collection, index, prefix: ['audit_pending.at'], residual: ['tenant_code'] },
    byId: { collection, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code', 'deleted_at'] },
  });
}

export const PLAYBOOK_OUTBOX = outboxQueries('playbook', COLLECTIONS.playbooks, 'playbook_audit_pending');
export const EXECUTION_OUTBOX = outboxQueries('execution', COLLECTIONS.executions, 'execution_audit_pending');
/** Task documents: an approval's answer (`_id` is the task key `peid:task_id`). */
export const TASK_OUTBOX = outboxQueries('task', COLLECTIONS.tasks, 'task_audit_pending');
/** Webhooks (create, and delete by tombstone; `_id` is the hook id). */
export const WEBHOOK_OUTBOX = outboxQueries('webhook', COLLECTIONS.webhooks, 'webhook_audit_pending');
/** Schedules (set, and delete by tombstone; `_id` is `tenant_code/playbook_name`). */
export const SCHEDULE_OUTBOX = outboxQueries('schedule', COLLECTIONS.schedules, 'schedule_audit_pending');

/** Every kind with its collection; adding an audited resource adds a line here (and a table above). */
export const OUTBOX_COLLECTIONS: Record<AuditSourceKind, CollectionName> = {
  playbook: COLLECTIONS.playbooks,
  execution: COLLECTIONS.executions,
  task: COLLECTIONS.tasks,
  webhook: COLLECTIONS.webhooks,
  schedule: COLLECTIONS.schedules,
};

export function toAuditDoc(e: AuditEntry): AuditDoc {
  const { id, ...rest } = e;
  return { _id: id, ...rest, at_date: new Date(e.at) };
}

/** True when every write error of a failed insert is a duplicate key. */
function onlyDuplicates(err: unknown): boolean {
  const e = err as { code?: number; writeErrors?: unknown };
  const raw = e.writeErrors;
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ code?: number }>;
  if (list.length > 0) return list.every((w) => w.code === 11000);
  return e.code === 11000;
}

/** Inserts `entries` into the log; those already there stay as they are (append-only, idempotent). */
export async function appendEntries(db: Db, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const unique = [...new Map(entries.map((e) => [e.id, e])).values()];
  try {
    await timedDbCall(() =>
      db.collection<AuditDoc>(COLLECTIONS.audit).insertMany(unique.map(toAuditDoc), { ordered: false }),
    );
  } catch (err) {
    if (!onlyDuplicates(err)) throw err;
  }
}

/**
 * Copies the pending entries of `docs` (all of one kind) into the log, then clears them: a
 * tombstone is removed, any other document loses exactly the entries copied. Returns how many.
 */
export async function settleDocs(db: Db, kind: AuditSourceKind, docs: PendingDoc[]): Promise<number> {
  const withEntries = docs.filter((d) => (d.audit_pending?.length ?? 0) > 0 || (d.deleted_at ?? null) !== null);
  if (withEntries.length === 0) return 0;
  const entries = withEntries.flatMap((d) => d.audit_pending ?? []);
  await appendEntries(db, entries);
  const q =
    kind === 'playbook'
      ? PLAYBOOK_OUTBOX.byId
      : kind === 'task'
        ? TASK_OUTBOX.byId
        : kind === 'webhook'
          ? WEBHOOK_OUTBOX.byId
          : kind === 'schedule'
            ? SCHEDULE_OUTBOX.byId
            : EXECUTION_OUTBOX.byId;
  const col = db.collection<PendingDoc>(OUTBOX_COLLECTIONS[kind]);
  await timedDbCall(() =>
    col.bulkWrite(
      withEntries.map((d) =>
        (d.deleted_at ?? null) !== null
          ? {
              // index: _id (a tombstone goes once its entries are in the log)
              deleteOne: {
                filter: indexed(q, { _id: d._id, tenant_code: d.tenant_code, deleted_at: { $ne: null } }),
              },
            }
          : {
              updateOne: {
                // index: _id
                filter: indexed(q, { _id: d._id, tenant_code: d.tenant_code }),
                update: { $pull: { audit_pending: { id: { $in: (d.audit_pending ?? []).map((e) => e.id) } } } },
              },
            },
      ),
      { ordered: false },
    ),
  );
  return entries.length;
}

/** Documents of `kind` with entries pending since before `cutoff` (of one tenant, or all). */
export async function pendingDocs(
  db: Db,
  kind: AuditSourceKind,
  cutoff: number,
  limit: number,
  tenant_code?: string,
): Promise<PendingDoc[]> {
  const q =
    kind === 'playbook'
      ? PLAYBOOK_OUTBOX.pendingSince
      : kind === 'task'
        ? TASK_OUTBOX.pendingSince
        : kind === 'webhook'
          ? WEBHOOK_OUTBOX.pendingSince
          : kind === 'schedule'
            ? SCHEDULE_OUTBOX.pendingSince
            : EXECUTION_OUTBOX.pendingSince;
  const filter: Document = { 'audit_pending.at': { $lt: cutoff }, ...(tenant_code ? { tenant_code } : {}) };
  // index: playbook_audit_pending / execution_audit_pending / task_audit_pending / webhook_audit_pending / schedule_audit_pending (sparse: pending documents only)
  return timedDbCall(() =>
    db
      .collection<PendingDoc>(OUTBOX_COLLECTIONS[kind])
      .find(indexed(q, filter), { projection: { _id: 1, tenant_code: 1, audit_pending: 1, deleted_at: 1 } })
      .limit(limit)
      .toArray(),
  );
}

/**
 * The use cases' publish: copies `entries` (just written pending on `source`) into the log,
 * removes them from the source (or the source, if it is a tombstone), and finishes any
 * entry an earlier crashed writer left on the same document.
 */
export async function publishEntries(db: Db, source: AuditSource, entries: AuditEntry[]): Promise<void> {
  const q =
    source.kind === 'playbook'
      ? PLAYBOOK_OUTBOX.byId
      : source.kind === 'task'
        ? TASK_OUTBOX.byId
        : source.kind === 'webhook'
          ? WEBHOOK_OUTBOX.byId
          : source.kind === 'schedule'
            ? SCHEDULE_OUTBOX.byId
            : EXECUTION_OUTBOX.byId;
  const col = db.collection<PendingDoc>(OUTBOX_COLLECTIONS[source.kind]);
  const projection = { _id: 1, tenant_code: 1, audit_pending: 1, deleted_at: 1 } as const;
  if (source.tombstone) {
    // A tombstone goes as a whole, after every entry on it is in the log (never emptied first:
    // the sweep finds documents by their pending entries).
    // index: _id
    const doc = await timedDbCall(() =>
      col.findOne(indexed(q, { _id: source.id, tenant_code: source.tenant_code }), { projection }),
    );
    if (doc) await settleDocs(db, source.kind, [doc]);
    else await appendEntries(db, entries);
    return;
  }
  await appendEntries(db, entries);
  // index: _id
  const after = await timedDbCall(() =>
    col.findOneAndUpdate(
      indexed(q, { _id: source.id, tenant_code: source.tenant_code }),
      { $pull: { audit_pending: { id: { $in: entries.map((e) => e.id) } } } },
      { returnDocument: 'after', projection },
    ),
  );
  // Entries a crashed writer left on the same document: settle them the way the sweep would.
  if (after && (after.audit_pending?.length ?? 0) > 0) await settleDocs(db, source.kind, [after]);
}
