/** Webhooks: their MongoDB store, the webhook key (SSM), the rate limiter (Redis). Schedules: schedules.ts. */
import { randomBytes, randomUUID } from 'node:crypto';
import { createWebhookStore } from '../adapters/mongo/webhook-store.js';
import { createWebhookRateLimiter } from '../adapters/redis/webhook-rate-limit.js';
import { ssmWebhookKey, webhookKeySource } from '../adapters/secrets/webhook-key.js';
import { getDb } from '../clients/mongo.js';
import { getSsm } from '../clients/ssm.js';
import { getConfig } from '../config.js';
import type { WebhookKeySource } from '../engine/ports/webhooks.js';
import type { ReceiveWebhookDeps } from '../engine/webhook-receive.js';
import type { WebhookDeps } from '../engine/webhooks.js';
import { auditLog } from './audit.js';
import { cacheKeyPrefix, playbookStore, redisGuard } from './catalog.js';
import { once } from './once.js';
import { idempotency, startRunDeps } from './start.js';

const webhookStore = once(() => createWebhookStore(getDb()));

const webhookKey = once((): WebhookKeySource => {
  const cfg = getConfig('webhooks');
  return webhookKeySource(cfg, (name) => ssmWebhookKey(getSsm(), name, cfg.WEBHOOK_KEY_CACHE_SECONDS));
});

/** Managing webhooks (the triggers function). */
export const webhookDeps = once(
  (): WebhookDeps => ({
    hooks: webhookStore(),
    playbooks: { getByName: (t, n) => playbookStore().findByName(t, n) },
    key: webhookKey(),
    clock: Date.now,
    newHookId: () => `wh_${randomBytes(16).toString('base64url')}`,
    newSalt: () => randomBytes(16).toString('base64url'),
    audit: auditLog(),
  }),
);

/** Receiving deliveries (the webhook function). */
export const receiveWebhookDeps = once(
  (): ReceiveWebhookDeps => ({
    hooks: webhookStore(),
    key: webhookKey(),
    limiter: createWebhookRateLimiter(redisGuard(), {
      keyPrefix: cacheKeyPrefix(),
      perMinute: getConfig('webhooks').WEBHOOK_RATE_LIMIT_PER_MINUTE,
    }),
    idempotency: idempotency(),
    start: startRunDeps(),
    clock: Date.now,
    newId: randomUUID,
  }),
);
