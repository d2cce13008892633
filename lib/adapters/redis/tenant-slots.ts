/**
 * TenantSlots on Redis, four keys per tenant (one cluster slot: the tenant is the hash
 * tag), namespaced like the caches:
 *   `<prefix>slots:{<tenant>}`     running tasks (and reservations): task key -> lease expiry
 *   `<prefix>reserved:{<tenant>}`  the slots above taken for a promoted task, not yet received
 *   `<prefix>parked:{<tenant>}`    tasks waiting for a slot, oldest first: task key -> since.
 *                                  Its size is the tenant's backlog.
 *   `<prefix>parkedmsg:{<tenant>}` their messages: task key -> message body
 * Times are in ms on Redis' own clock, so containers with skewed clocks agree.
 *
 * Acquiring is one Lua script, atomic across every container: drop expired leases,
 * count, admit up to `cap - count` keys in order (a key holding a reservation takes it
 * over), park the others (oldest first, a key parked already keeps its place), return
 * the backlog. Releasing is another: free the keys, then move the oldest parked tasks
 * into the slots that are free, as reservations, and return their messages for the
 * caller to send at once. The parked copy is an accelerator, never the only copy: every
 * deferral also sends a delayed copy through the queue (see lib/engine/fairness.ts).
 * A worker that crashes never releases; its leases (and reservations) expire instead;
 * the parked tasks of a tenant that stops deferring expire after the horizon.
 *
 * Errors are thrown, never hidden: the caller (lib/engine/fairness.ts) decides to
 * fail open. The client is the container's shared one (enableOfflineQueue false),
 * so an unreachable Redis rejects at once and a slow one within the command timeout.
 */
import type { Redis } from 'ioredis';
import type { SlotGrant, SlotRequest, SlotsAcquired, TenantSlots } from '../../engine/ports/tenant-slots.js';

export interface TenantSlotsOptions {
  /** Namespace of every key (the database name, like the caches): stages and test files never mix. */
  keyPrefix: string;
  /** How long parked tasks are kept after the tenant's last deferral (their delayed copies outlive it). */
  parkedHorizonMs?: number;
  /** How long a slot stays reserved for a promoted task that has not arrived (a lost send). */
  reserveMs?: number;
  /** How long a call waits for a connection still being established (cold start). */
  connectWaitMs?: number;
}

/*
 * Shared by both scripts. KEYS: 1 running slots, 2 reserved, 3 parked, 4 parked messages.
 * TIME inside a script needs effects replication, the default since Redis 5.
 */
const PRELUDE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slots, reserved, parked, bodies = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
local function expireSlotsWithLast()
  local top = redis.call('ZRANGE', slots, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', slots, top[2])
end
`;

/*
 * ARGV[1]: cap; ARGV[2]: lease ms; ARGV[3]: horizon ms; then per key (distinct, in arrival
 * order) three values: the task key, its message body, 1 when the message is a deferred
 * copy, else 0. Returns one integer per key:
 *   1 admitted with a new slot owned by the caller (a reservation taken over counts),
 *   2 admitted, the key holds a live slot already (a redelivery; not the caller's),
 *   3 admitted without a slot: a deferred copy of a task that left the parked set (it was
 *     promoted, and the engine runs a task once whichever copy arrives first),
 *   0 over the cap: parked (unless it is already);
 * then the backlog (the number of parked tasks).
 */
const ACQUIRE_LUA = `${PRELUDE_LUA}
local count = redis.call('ZCARD', slots)
local cap = tonumber(ARGV[1])
local expiry = now + tonumber(ARGV[2])
local out = {}
local added, deferred = false, false
local function unpark(m)
  if redis.call('ZREM', parked, m) == 1 then redis.call('HDEL', bodies, m) end
end
for i = 4, #ARGV, 3 do
  local m, body, copy = ARGV[i], ARGV[i + 1], ARGV[i + 2] == '1'
  local live = redis.call('ZSCORE', slots, m)
  local wasReserved = redis.call('SREM', reserved, m) == 1
  if live and wasReserved then
    redis.call('ZADD', slots, expiry, m)
    unpark(m)
    added = true
    out[#out + 1] = 1
  elseif live then
    unpark(m)
    out[#out + 1] = 2
  elseif count < cap then
    redis.call('ZADD', slots, expiry, m)
    unpark(m)
    count = count + 1
    added = true
    out[#out + 1] = 1
  elseif copy and not redis.call('ZSCORE', parked, m) then
    out[#out + 1] = 3
  else
    if redis.call('ZADD', parked, 'NX', now, m) == 1 then redis.call('HSET', bodies, m, body) end
    deferred = true
    out[#out + 1] = 0
  end
end
if added then expireSlotsWithLast() end
if deferred then
  local horizon = now + tonumber(ARGV[3])
  redis.call('PEXPIREAT', parked, horizon)
  redis.call('PEXPIREAT', bodies, horizon)
end
out[#out + 1] = redis.call('ZCARD', parked)
return out
`;

/*
 * ARGV[1]: cap; ARGV[2]: reservation ms; ARGV[3]: horizon ms; ARGV[4..]: the keys to free.
 * Returns the messages of the parked tasks moved into free slots.
 */
const RELEASE_LUA = `${PRELUDE_LUA}
for i = 4, #ARGV do redis.call('ZREM', slots, ARGV[i]) end
local free = tonumber(ARGV[1]) - redis.call('ZCARD', slots)
local out = {}
if free <= 0 then return out end
local popped = redis.call('ZPOPMIN', parked, free)
local reservedUntil = now + tonumber(ARGV[2])
for i = 1, #popped, 2 do
  local m = popped[i]
  local body = redis.call('HGET', bodies, m)
  redis.call('HDEL', bodies, m)
  if body then
    redis.call('ZADD', slots, reservedUntil, m)
    redis.call('SADD', reserved, m)
    out[#out + 1] = body
  end
end
if #out > 0 then
  expireSlotsWithLast()
  redis.call('PEXPIRE', reserved, tonumber(ARGV[3]))
end
return out
`;

const ACQUIRE = 'playbookTenantSlotsAcquire';
const RELEASE = 'playbookTenantSlotsRelease';

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
  const parkedHorizonMs = opts.parkedHorizonMs ?? 180_000;
  const reserveMs = opts.reserveMs ?? 60_000;
  const key = (name: string, tenant: string) => `${opts.keyPrefix}${name}:{${tenant}}`;
  const keysOf = (tenant: string) => ['slots', 'reserved', 'parked', 'parkedmsg'].map((name) => key(name, tenant));
  // defineCommand runs a script by EVALSHA and falls back to EVAL once per connection.
  const commands = redis as unknown as Record<string, ScriptFn>;
  if (typeof commands[ACQUIRE] !== 'function') redis.defineCommand(ACQUIRE, { numberOfKeys: 4, lua: ACQUIRE_LUA });
  if (typeof commands[RELEASE] !== 'function') redis.defineCommand(RELEASE, { numberOfKeys: 4, lua: RELEASE_LUA });
  const acquireScript = (commands[ACQUIRE] as ScriptFn).bind(redis);
  const releaseScript = (commands[RELEASE] as ScriptFn).bind(redis);

  async function ready(): Promise<void> {
    const status = redis.status;
    if (status === 'connecting' || status === 'connect' || status === 'wait') await waitReady(redis, connectWaitMs);
  }

  return {
    async acquire(tenant, requests: SlotRequest[], cap, leaseMs): Promise<SlotsAcquired> {
      if (requests.length === 0) return { grants: [], deferred: 0 };
      await ready();
      const reply = await acquireScript(
        ...keysOf(tenant),
        cap,
        Math.max(1, Math.ceil(leaseMs)),
        parkedHorizonMs,
        ...requests.flatMap((r) => [r.key, r.body, r.deferredCopy ? 1 : 0]),
      );
      if (!Array.isArray(reply) || reply.length !== requests.length + 1) {
        throw new Error('unexpected tenant slots reply');
      }
      const grant = (n: unknown): SlotGrant => (n === 1 ? 'new' : n === 2 ? 'held' : n === 3 ? 'pass' : 'over');
      return { grants: reply.slice(0, requests.length).map(grant), deferred: Number(reply[requests.length]) };
    },
    async release(tenant, keys, cap) {
      if (keys.length === 0) return [];
      await ready();
      const reply = await releaseScript(...keysOf(tenant), cap, reserveMs, parkedHorizonMs, ...keys);
      return Array.isArray(reply) ? reply.map(String) : [];
    },
    async running(tenant) {
      await ready();
      const t = await redis.time();
      const now = Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000);
      return redis.zcount(key('slots', tenant), `(${now}`, '+inf');
    },
  };
}
