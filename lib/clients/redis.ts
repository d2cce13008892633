/** The container's Redis client (fails fast: a cache must never block a request). */
import { Redis } from 'ioredis';
import { type Config, getConfig } from '../config.js';
import { logger } from '../observability.js';
import { onClose } from './registry.js';

/** An ioredis client that fails fast when Redis is away (a cache must never block a request). */
export function createRedisClient(cfg: Config<'redis'>): Redis {
  const client = new Redis(cfg.REDIS_URL, {
    connectTimeout: cfg.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: cfg.REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: cfg.REDIS_MAX_RETRIES_PER_REQUEST,
    enableOfflineQueue: false,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let lastLogged = 0;
  // Without a listener ioredis prints every reconnect attempt; log at most every 10 s.
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged > 10_000) {
      lastLogged = now;
      logger.warn('redis unavailable', { error: err.message });
    }
  });
  return client;
}

let redis: Redis | undefined;

/** The container's Redis client. */
export function getRedis(): Redis {
  redis ??= createRedisClient(getConfig('redis'));
  return redis;
}

onClose(() => {
  redis?.disconnect();
  redis = undefined;
});
