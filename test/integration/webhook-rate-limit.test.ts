/**
 * The per-hook rate limit against the real Redis: one bucket shared by every container, and,
 * with Redis unreachable, a bucket per container that still holds each hook to the limit
 * (deliveries are never refused because Redis is away).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisGuard } from '../../lib/adapters/cache/redis-guard.js';
import { createWebhookRateLimiter } from '../../lib/adapters/redis/webhook-rate-limit.js';
import { createRedisClient } from '../../lib/clients/redis.js';
import { parseConfigSection } from '../../lib/config.js';

const clients: Redis[] = [];
function client(url = process.env.REDIS_URL as string): Redis {
  const c = createRedisClient(parseConfigSection('redis', { REDIS_URL: url, REDIS_CONNECT_TIMEOUT_MS: '200' }));
  clients.push(c);
  return c;
}
afterAll(() => {
  for (const c of clients) c.disconnect();
});

/** A limiter as one container builds it (its own client and guard). */
const container = (redis: Redis, perMinute: number) =>
  createWebhookRateLimiter(createRedisGuard(redis, { connectWaitMs: 2_000 }), {
    keyPrefix: `${process.env.MONGO_DB}:`,
    perMinute,
  });

describe('webhook rate limit', () => {
  it('is one budget per hook across containers: a burst of N, then Retry-After until the next token', async () => {
    const a = container(client(), 2);
    const b = container(client(), 2);
    const hook = `wh_${randomUUID()}`;
    expect(await a.take(hook)).toEqual({ allowed: true });
    expect(await b.take(hook)).toEqual({ allowed: true });
    const refused = await a.take(hook);
    expect(refused.allowed).toBe(false);
    const wait = (refused as { retryAfterMs: number }).retryAfterMs;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(30_000);
    expect((await b.take(hook)).allowed).toBe(false);
    // Another hook has its own budget.
    expect(await b.take(`wh_${randomUUID()}`)).toEqual({ allowed: true });
  });

  it('with Redis unreachable, each container keeps the limit itself and accepts within it', async () => {
    const down = 'redis://127.0.0.1:1';
    const a = container(client(down), 2);
    const b = container(client(down), 2);
    const hook = `wh_${randomUUID()}`;
    expect((await a.take(hook)).allowed).toBe(true);
    expect((await a.take(hook)).allowed).toBe(true);
    expect((await a.take(hook)).allowed).toBe(false);
    // Per container: the other one still has its own burst.
    expect((await b.take(hook)).allowed).toBe(true);
  });
});
