/**
 * The per-hook rate limit: a token bucket of `perMinute` requests (a burst of that many, then
 * one every 60/perMinute s), kept in Redis as one key per hook holding its "theoretical arrival
 * time" (GCRA), so every container shares it. Times are Redis' own clock (TIME), so containers
 * with skewed clocks agree.
 *
 * Redis down or slow: the limit falls back to the same bucket kept in this container's memory
 * (`WebhookRateLimitFallback` metric): deliveries keep being accepted, each container holding
 * each hook to the limit. Alerts are not dropped because a cache is away; every request is still
 * signed by the hook's secret, and the engine's per-tenant fairness bounds what the runs use.
 */
import { LRUCache } from 'lru-cache';
import type { WebhookRateLimiter } from '../../engine/ports/webhooks.js';
import { MetricUnit, metrics } from '../../observability.js';
import type { RedisGuard } from '../cache/redis-guard.js';

const TAKE = 'playbookWebhookTake';

/*
 * KEYS[1]: the hook's key. ARGV: 1 interval (ms between tokens), 2 burst tolerance (ms).
 * Returns 0 when allowed, else the ms until a token is available.
 */
const TAKE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
local nextTat = tat + interval
redis.call('SET', KEYS[1], nextTat, 'PX', nextTat - now + 1000)
return 0
`;

type WithTake = { [TAKE]?: (key: string, interval: number, tolerance: number) => Promise<number> };

export interface WebhookRateLimitOptions {
  keyPrefix: string;
  perMinute: number;
  clock?: () => number;
}

/** The bucket's arithmetic: the new arrival time, or how long to wait. */
function gcra(tat: number, now: number, interval: number, tolerance: number): { tat: number; wait: number } {
  const from = Math.max(tat, now);
  const wait = from - tolerance - now;
  return wait > 0 ? { tat, wait } : { tat: from + interval, wait: 0 };
}

/** A WebhookRateLimiter over Redis (best effort: see the module comment). */
export function createWebhookRateLimiter(guard: RedisGuard, opts: WebhookRateLimitOptions): WebhookRateLimiter {
  const interval = 60_000 / opts.perMinute;
  const tolerance = interval * (opts.perMinute - 1);
  const clock = opts.clock ?? Date.now;
  const local = new LRUCache<string, number>({ max: 10_000 });

  function takeLocally(hook_id: string): number {
    const now = clock();
    const r = gcra(local.get(hook_id) ?? 0, now, interval, tolerance);
    if (r.wait === 0) local.set(hook_id, r.tat);
    return r.wait;
  }

  return {
    async take(hook_id) {
      const wait = await guard.run('webhook rate limit', async (redis) => {
        const commands = redis as unknown as WithTake;
        if (typeof commands[TAKE] !== 'function') redis.defineCommand(TAKE, { numberOfKeys: 1, lua: TAKE_LUA });
        return (commands[TAKE] as NonNullable<WithTake[typeof TAKE]>)(
          `${opts.keyPrefix}hookrate:${hook_id}`,
          Math.round(interval),
          Math.round(tolerance),
        );
      });
      let ms: number;
      if (wait === undefined) {
        metrics.addMetric('WebhookRateLimitFallback', MetricUnit.Count, 1);
        ms = takeLocally(hook_id);
      } else {
        ms = Number(wait);
      }
      return ms > 0 ? { allowed: false, retryAfterMs: ms } : { allowed: true };
    },
  };
}
