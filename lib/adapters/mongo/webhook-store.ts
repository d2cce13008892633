/**
 * Webhooks in `playbook_webhooks` (_id = hook_id). A delivery finds its hook by id alone (the
 * id is 128 random bits, and the request must then carry a signature under the hook's secret);
 * every management query is scoped by tenant. No secret is stored (lib/domain/webhook-signature.ts).
 * A create carries its audit entry in the insert; an audited delete turns the hook into a
 * tombstone (`deleted_at`), which no read returns and the outbox then removes (audit-outbox.ts).
 */
import type { Db } from 'mongodb';
import type { AuditEntry } from '../../domain/audit.js';
import type { StoredWebhook, WebhookStore } from '../../engine/ports/webhooks.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';

type WebhookDoc = StoredWebhook & { _id: string; audit_pending?: AuditEntry[]; deleted_at?: number | null };

export const WEBHOOK_QUERIES = defineQueries('webhooks', {
  // A delivery: the hook id is all it names (checked against the signature next); not a tombstone.
  byId: { collection: COLLECTIONS.webhooks, index: ID_INDEX, prefix: ['_id'], residual: ['deleted_at'] },
  ofPlaybook: {
    collection: COLLECTIONS.webhooks,
    index: 'tenant_playbook_created',
    prefix: ['tenant_code', 'playbook_name'],
    residual: ['deleted_at'],
    sort: { key: { created_at: 1 }, by: 'index' },
  },
  oneOfPlaybook: {
    collection: COLLECTIONS.webhooks,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'playbook_name', 'deleted_at'],
  },
});

/** What no read returns: the key and the outbox's fields. */
const PROJECTION = { _id: 0, audit_pending: 0, deleted_at: 0 } as const;

/** A WebhookStore over the given database. */
export function createWebhookStore(db: Db): WebhookStore {
  const col = db.collection<WebhookDoc>(COLLECTIONS.webhooks);
  return {
    async insert(hook, audit) {
      await timedDbCall(() =>
        col.insertOne({ _id: hook.hook_id, ...hook, ...(audit ? { audit_pending: [audit] } : {}) }),
      );
    },

    async findById(hook_id) {
      // index: _id
      return timedDbCall(() =>
        col.findOne<StoredWebhook>(indexed(WEBHOOK_QUERIES.byId, { _id: hook_id, deleted_at: null }), {
          projection: PROJECTION,
        }),
      );
    },

    async listByPlaybook(tenant_code, playbook_name, limit) {
      // index: tenant_playbook_created (filter and sort)
      return timedDbCall(() =>
        col
          .find<StoredWebhook>(indexed(WEBHOOK_QUERIES.ofPlaybook, { tenant_code, playbook_name, deleted_at: null }), {
            projection: PROJECTION,
          })
          .sort(sortOf(WEBHOOK_QUERIES.ofPlaybook))
          .limit(limit)
          .toArray(),
      );
    },

    async remove(tenant_code, playbook_name, hook_id, audit) {
      const key = { _id: hook_id, tenant_code, playbook_name, deleted_at: null };
      if (audit) {
        // One write makes the deletion and carries its entry: a tombstone, removed by the outbox.
        // index: _id
        const res = await timedDbCall(() =>
          col.updateOne(indexed(WEBHOOK_QUERIES.oneOfPlaybook, key), {
            $set: { deleted_at: audit.at },
            $push: { audit_pending: audit },
          }),
        );
        return res.matchedCount === 1;
      }
      // index: _id
      const res = await timedDbCall(() => col.deleteOne(indexed(WEBHOOK_QUERIES.oneOfPlaybook, key)));
      return res.deletedCount === 1;
    },
  };
}
