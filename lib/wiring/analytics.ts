/** Top-playbooks analytics: the MongoDB store and its Redis copy. */
import { createTopPlaybooksCache } from '../adapters/cache/top-playbooks-cache.js';
import { createAnalyticsStore } from '../adapters/mongo/analytics-store.js';
import { getDb } from '../clients/mongo.js';
import { getConfig } from '../config.js';
import type { TopPlaybooksDeps } from '../engine/top-playbooks.js';
import { cacheKeyPrefix, redisGuard } from './catalog.js';
import { once } from './once.js';

/** Dependencies of the top-playbooks computation and its read API. */
export const topPlaybooksDeps = once((): TopPlaybooksDeps => {
  const cfg = getConfig('analytics');
  return {
    store: createAnalyticsStore(getDb()),
    cache: createTopPlaybooksCache(redisGuard(), {
      keyPrefix: cacheKeyPrefix(),
      ttlSeconds: 3 * cfg.TOP_PLAYBOOKS_RATE_MINUTES * 60,
    }),
    clock: Date.now,
    windowDays: cfg.ANALYTICS_WINDOW_DAYS,
  };
});
