/** Webhooks and schedules: their MongoDB stores, the webhook key (SSM), the rate limiter (Redis). */
import { randomBytes, randomUUID } from 'node:crypto';
import { createScheduleStore } from '../adapters/mongo/schedule-store.js';
import { createWebhookStore } from '../adapters/mongo/webhook-store.js';
import { createWebhookRateLimiter } from '../adapters/redis/webhook-rate-limit.js';
import { ssmWebhookKey, webhookKeySource } from '../adapters/secrets/webhook-key.js';
import { getDb } from '../clients/mongo.js';
import { getSsm } from '../clients/ssm.js';
import { getConfig } from '../config.js';
import type { WebhookKeySource } from '../engine/ports/webhooks.js';
import type { RunSchedulesDeps } from '../engine/run-schedules.js';
import type { ScheduleDeps } from '../engine/schedules.js';
import type { ReceiveWebhookDeps } from '../engine/webhook-receive.js';
import type { WebhookDeps } from '../engine/webhooks.js';
import { auditLog } from './audit.js';
import { cacheKeyPrefix, playbookCache, playbookStore, redisGuard } from './catalog.js';
import { once } from './once.js';
import { runStore, taskQueue } from './runs.js';
import { idempotency, startRunDeps } from './start.js';

const webhookStore = once(() => createWebhookStore(getDb()));
const scheduleStore = once(() => createScheduleStore(getDb()));

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

/** Managing schedules (the triggers function). */
export const scheduleDeps = once(
  (): ScheduleDeps => ({
    schedules: scheduleStore(),
    playbooks: { getByName: (t, n) => playbookStore().findByName(t, n) },
    clock: Date.now,
    newId: randomUUID,
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

/** The scheduled runSchedules function. */
export const runSchedulesDeps = once((): RunSchedulesDeps => {
  const cfg = getConfig('schedules');
  return {
    schedules: scheduleStore(),
    playbooks: playbookCache(),
    runs: runStore(),
    queue: taskQueue(),
    audit: auditLog(),
    clock: Date.now,
    pageSize: cfg.SCHEDULES_PAGE_SIZE,
    concurrency: cfg.SCHEDULES_CONCURRENCY,
  };
});
