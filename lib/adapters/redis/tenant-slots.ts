/**
 * TenantSlots on Redis, two sorted sets per tenant (one cluster slot: the tenant is
 * the hash tag), namespaced like the caches:
 *   `<prefix>slots:{<tenant>}`    running tasks: task key (`peid:task_id`) -> lease expiry
 *   `<prefix>deferred:{<tenant>}` tasks waiting on the queue after a deferral -> when they
 *                                 stop counting unless deferred again (a cancelled run's)
 * Times are in ms on Redis' own clock, so containers with skewed clocks agree.
 * Acquiring is one Lua script, atomic across every container: drop expired entries,
 * count, admit up to `cap - count` new keys in order (ZADD), record the others as
 * deferred, return the tenant's deferred count (its backlog). Releasing is ZREM. A
 * worker that crashes never releases; its leases expire instead.
 *
 * Errors are thrown, never hidden: the caller (lib/engine/fairness.ts) decides to
 * fail open. The client is the container's shared one (enableOfflineQueue false),
 * so an unreachable Redis rejects at once and a slow one within the command timeout.
 */
import type { Redis } from 'ioredis';
import type { SlotGrant, SlotsAcquired, TenantSlots } from '../../engine/fairness.js';

export interface TenantSlotsOptions {
  /** Namespace of every key (the database name, like the caches): stages and test files never mix. */
  keyPrefix: string;
  /** How long a deferred task counts in its tenant's backlog unless deferred (or admitted) again. */
  deferredHorizonMs?: number;
  /** How long a call waits for a connection still being established (cold start). */
  connectWaitMs?: number;
}

/*
 * KEYS[1]: running slots; KEYS[2]: deferred. ARGV[1]: cap; ARGV[2]: lease ms; ARGV[3]:
 * deferred horizon ms; ARGV[4..]: distinct task keys in arrival order. Returns one integer
 * per key, 1 admitted (new slot), 2 admitted (the key already holds a live slot: a
 * redelivery or a duplicate; no new slot, not owned by this caller), 0 over the cap;
 * then the number of deferred tasks. TIME inside a script needs effects replication,
 * the default since Redis 5.
 */
const ACQUIRE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slots, waiting = KEYS[1], KEYS[2]
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now)
local count = redis.call('ZCARD', slots)
local cap = tonumber(ARGV[1])
local expiry = now + tonumber(ARGV[2])
local horizon = now + tonumber(ARGV[3])
local out = {}
local added, deferred = false, false
for i = 4, #ARGV do
  local m = ARGV[i]
  if redis.call('ZSCORE', slots, m) then
    redis.call('ZREM', waiting, m)
    out[#out + 1] = 2
  elseif count < cap then
    redis.call('ZADD', slots, expiry, m)
    redis.call('ZREM', waiting, m)
    count = count + 1
    added = true
    out[#out + 1] = 1
  else
    redis.call('ZADD', waiting, horizon, m)
    deferred = true
    out[#out + 1] = 0
  end
end
if added then
  local top = redis.call('ZRANGE', slots, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', slots, top[2])
end
if deferred then redis.call('PEXPIREAT', waiting, horizon) end
out[#out + 1] = redis.call('ZCARD', waiting)
return out
`;

const COMMAND = 'playbookTenantSlotsAcquire';

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;

function waitReady(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onError = (err: Error) => done(err);
    const timer = setTimeout(() => done(new Error(`redis ${redis.status}`)), ms);
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
}

/** TenantSlots over a client created with enableOfflineQueue false (lib/clients.ts). */
export function createTenantSlots(redis: Redis, opts: TenantSlotsOptions): TenantSlots {
  const connectWaitMs = opts.connectWaitMs ?? 250;
  const deferredHorizonMs = opts.deferredHorizonMs ?? 180_000;
  const slotKey = (tenant: string) => `${opts.keyPrefix}slots:{${tenant}}`;
  const deferredKey = (tenant: string) => `${opts.keyPrefix}deferred:{${tenant}}`;
  // defineCommand runs the script by EVALSHA and falls back to EVAL once per connection.
  if (typeof (redis as unknown as Record<string, unknown>)[COMMAND] !== 'function') {
    redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: ACQUIRE_LUA });
  }
  const acquireScript = ((redis as unknown as Record<string, ScriptFn>)[COMMAND] as ScriptFn).bind(redis);

  async function ready(): Promise<void> {
    const status = redis.status;
    if (status === 'connecting' || status === 'connect' || status === 'wait') await waitReady(redis, connectWaitMs);
  }

  return {
    async acquire(tenant, keys, cap, leaseMs): Promise<SlotsAcquired> {
      if (keys.length === 0) return { grants: [], deferred: 0 };
      await ready();
      const reply = await acquireScript(
        slotKey(tenant),
        deferredKey(tenant),
        cap,
        Math.max(1, Math.ceil(leaseMs)),
        deferredHorizonMs,
        ...keys,
      );
      if (!Array.isArray(reply) || reply.length !== keys.length + 1) throw new Error('unexpected tenant slots reply');
      return {
        grants: reply.slice(0, keys.length).map((n): SlotGrant => (n === 1 ? 'new' : n === 2 ? 'held' : 'over')),
        deferred: Number(reply[keys.length]),
      };
    },
    async release(tenant, keys) {
      if (keys.length === 0) return;
      await ready();
      await redis.zrem(slotKey(tenant), ...keys);
    },
    async running(tenant) {
      await ready();
      const t = await redis.time();
      const now = Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
      return redis.zcount(slotKey(tenant), `(${now}`, '+inf');
    },
  };
}
