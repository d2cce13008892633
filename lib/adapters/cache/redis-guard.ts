/**
 * Best-effort Redis access for caches: a Redis that is down, slow or still connecting
 * makes a call return `undefined` (the caller falls back to MongoDB), never throw.
 * After a failure Redis is skipped for `cooldownMs`, so an unreachable server costs
 * one command timeout per cooldown, not one per request.
 */
import type { Redis } from 'ioredis';
import { logger, MetricUnit, metrics } from '../../observability.js';

export interface RedisGuard {
  /** `fn`'s result, or undefined when Redis is unavailable or the call failed. */
  run<T>(what: string, fn: (redis: Redis) => Promise<T>): Promise<T | undefined>;
  /** The client (its owner closes it). */
  readonly redis: Redis;
}

export interface RedisGuardOptions {
  /** How long Redis is skipped after a failure. */
  cooldownMs?: number;
  /** How long a call waits for a connection still being established (cold start). */
  connectWaitMs?: number;
  clock?: () => number;
}

function waitReady(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      resolve(ok);
    };
    const onReady = () => done(true);
    const onError = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}

/** Wraps a client created with enableOfflineQueue false (lib/clients.ts). */
export function createRedisGuard(redis: Redis, opts: RedisGuardOptions = {}): RedisGuard {
  const cooldownMs = opts.cooldownMs ?? 5_000;
  const connectWaitMs = opts.connectWaitMs ?? 250;
  const clock = opts.clock ?? Date.now;
  let skipUntil = 0;
  let lastLogged = 0;
  // One wait shared by every call that arrives while the first connection is being made.
  let connecting: Promise<boolean> | undefined;

  function failed(what: string, err: unknown): undefined {
    const now = clock();
    skipUntil = now + cooldownMs;
    metrics.addMetric('CacheErrors', MetricUnit.Count, 1);
    if (now - lastLogged > 10_000) {
      lastLogged = now;
      logger.warn('redis unavailable, using MongoDB', { what, error: (err as Error)?.message ?? String(err) });
    }
    return undefined;
  }

  return {
    redis,
    async run(what, fn) {
      if (clock() < skipUntil) return undefined;
      const status = redis.status;
      // A fresh container's client is still connecting: worth a short wait, the connection is reused.
      if (status === 'connecting' || status === 'connect' || status === 'wait') {
        if (status === 'wait') redis.connect().catch(() => undefined);
        connecting ??= waitReady(redis, connectWaitMs).finally(() => {
          connecting = undefined;
        });
        if (!(await connecting)) return failed(what, new Error(`redis ${redis.status}`));
      } else if (status !== 'ready') {
        return failed(what, new Error(`redis ${status}`));
      }
      try {
        return await fn(redis);
      } catch (err) {
        return failed(what, err);
      }
    },
  };
}
