/** Playbook definitions: the MongoDB store and its two-level cache (Redis). */
import { createPlaybookCache, invalidatingStore, type PlaybookCache } from '../adapters/cache/playbook-cache.js';
import { createRedisGuard, type RedisGuard } from '../adapters/cache/redis-guard.js';
import { createPlaybookStore } from '../adapters/mongo/playbook-store.js';
import { getDb } from '../clients/mongo.js';
import { getRedis } from '../clients/redis.js';
import { getConfig } from '../config.js';
import type { PlaybookStore } from '../engine/ports/playbook-store.js';
import { once } from './once.js';

export const playbookStore: () => PlaybookStore = once(() => createPlaybookStore(getDb()));

/** Redis keys are namespaced by database: stages (or test files) sharing one Redis never mix. */
export const cacheKeyPrefix = () => `${getConfig('mongo').MONGO_DB}:`;

/** The container's best-effort Redis access for caches. */
export const redisGuard: () => RedisGuard = once(() => createRedisGuard(getRedis()));

/** The container's two-level cache of current playbook definitions (docs/cache.md). */
export const playbookCache: () => PlaybookCache = once(() => {
  const cfg = getConfig('cache');
  return createPlaybookCache(playbookStore(), redisGuard(), {
    l1MaxEntries: cfg.PLAYBOOK_CACHE_L1_MAX_ENTRIES,
    l1MaxBytes: cfg.PLAYBOOK_CACHE_L1_MAX_BYTES,
    l1TtlMs: cfg.PLAYBOOK_CACHE_L1_TTL_MS,
    trustMs: cfg.PLAYBOOK_CACHE_TRUST_MS,
    l2TtlSeconds: cfg.PLAYBOOK_CACHE_L2_TTL_SECONDS,
    pointerTtlSeconds: cfg.PLAYBOOK_CACHE_POINTER_TTL_SECONDS,
    keyPrefix: cacheKeyPrefix(),
  });
});

/** The playbook store the management API writes through: every write refreshes the cache. */
export const playbookCatalog: () => PlaybookStore = once(() => invalidatingStore(playbookStore(), playbookCache()));
