/**
 * Webhooks in `playbook_webhooks` (_id = hook_id). A delivery finds its hook by id alone (the
 * id is 128 random bits, and the request must then carry a signature under the hook's secret);
 * every management query is scoped by tenant. No secret is stored (lib/domain/webhook-signature.ts).
 */
import type { Db } from 'mongodb';
import type { StoredWebhook, WebhookStore } from '../../engine/ports/webhooks.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';

type WebhookDoc = StoredWebhook & { _id: string };

export const WEBHOOK_QUERIES = defineQueries('webhooks', {
  // A delivery: the hook id is all it names (checked against the signature next).
  byId: { collection: COLLECTIONS.webhooks, index: ID_INDEX, prefix: ['_id'] },
  ofPlaybook: {
    collection: COLLECTIONS.webhooks,
    index: 'tenant_playbook_created',
    prefix: ['tenant_code', 'playbook_name'],
    sort: { key: { created_at: 1 }, by: 'index' },
  },
  oneOfPlaybook: {
    collection: COLLECTIONS.webhooks,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'playbook_name'],
  },
});

/** A WebhookStore over the given database. */
export function createWebhookStore(db: Db): WebhookStore {
  const col = db.collection<WebhookDoc>(COLLECTIONS.webhooks);
  return {
    async insert(hook) {
      await timedDbCall(() => col.insertOne({ _id: hook.hook_id, ...hook }));
    },

    async findById(hook_id) {
      // index: _id
      return timedDbCall(() =>
        col.findOne(indexed(WEBHOOK_QUERIES.byId, { _id: hook_id }), { projection: { _id: 0 } }),
      );
    },

    async listByPlaybook(tenant_code, playbook_name, limit) {
      // index: tenant_playbook_created (filter and sort)
      return timedDbCall(() =>
        col
          .find(indexed(WEBHOOK_QUERIES.ofPlaybook, { tenant_code, playbook_name }), { projection: { _id: 0 } })
          .sort(sortOf(WEBHOOK_QUERIES.ofPlaybook))
          .limit(limit)
          .toArray(),
      );
    },

    async remove(tenant_code, playbook_name, hook_id) {
      // index: _id
      const res = await timedDbCall(() =>
        col.deleteOne(indexed(WEBHOOK_QUERIES.oneOfPlaybook, { _id: hook_id, tenant_code, playbook_name })),
      );
      return res.deletedCount === 1;
    },
  };
}
