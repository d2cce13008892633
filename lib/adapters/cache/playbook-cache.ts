/**
 * Two-level read-through cache of current playbook definitions, keyed by
 * tenant and version; docs/cache.md has the design, bounds and failure behaviour.
 *
 *   L1  per container: lru-cache (entries, bytes, TTL). An entry is served on its own for
 *       `trustMs`, then revalidated against the L2 version pointer (one small GET).
 *   L2  Redis: `pb:{tenant}:name` -> {pid, v, c, gone} (the version pointer, short TTL) and
 *       `pbv:{tenant}:pid:version` -> the definition (immutable, so never invalidated).
 *   DB  MongoDB on a miss; concurrent misses of one key share a single read (single-flight).
 *
 * Writers replace the pointer with a compare-and-set script that only moves it forward, so a
 * slow reader re-populating an old version can never overwrite a newer one.
 */
import { LRUCache } from 'lru-cache';
import type { StoredPlaybook } from '../../engine/model.js';
import type { PlaybookSource } from '../../engine/ports/playbook-source.js';
import type { PlaybookStore } from '../../engine/ports/playbook-store.js';
import { MetricUnit, metrics } from '../../observability.js';
import type { RedisGuard } from './redis-guard.js';

export type CacheMetric = 'CacheL1Hit' | 'CacheL1Miss' | 'CacheL2Hit' | 'CacheL2Miss';

export interface PlaybookCacheOptions {
  l1MaxEntries: number;
  l1MaxBytes: number;
  l1TtlMs: number;
  trustMs: number;
  l2TtlSeconds: number;
  pointerTtlSeconds: number;
  /** Namespace of the Redis keys: the database name, so stages or test files sharing a Redis never mix. */
  keyPrefix: string;
  clock?: () => number;
  count?: (metric: CacheMetric) => void;
}

export interface PlaybookCacheStats {
  l1Hits: number;
  l1Misses: number;
  l2Hits: number;
  l2Misses: number;
  /** MongoDB reads (one per L2 miss). */
  dbReads: number;
  /** Lookups that joined a load already in flight for the same key. */
  coalesced: number;
}

export interface PlaybookCache extends PlaybookSource {
  /** `p` is now current (created or replaced): L1 here, L2 for every container. */
  written(p: StoredPlaybook): Promise<void>;
  /** `p` was deleted. */
  removed(p: StoredPlaybook): Promise<void>;
  readonly stats: PlaybookCacheStats;
}

interface Pointer {
  pid: string;
  v: number;
  /** The pid's createddate: orders a re-created playbook (new pid) after the deleted one. */
  c: number;
  gone: 0 | 1;
}

interface L1Entry {
  playbook: StoredPlaybook;
  validatedAt: number;
  size: number;
}

/**
 * Moves the pointer forward only: (c, v, gone) must exceed the stored one.
 * KEYS[1] pointer; ARGV: json, c, v, gone, ttl seconds.
 */
const ADVANCE_POINTER = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, p = pcall(cjson.decode, cur)
  if ok and type(p) == 'table' then
    local nc, nv, ng = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
    local cc, cv, cg = tonumber(p.c) or 0, tonumber(p.v) or 0, tonumber(p.gone) or 0
    if cc > nc or (cc == nc and (cv > nv or (cv == nv and cg >= ng))) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
return 1
`;

function parsePointer(text: string): Pointer | null {
  try {
    const p = JSON.parse(text) as Partial<Pointer>;
    if (typeof p.pid === 'string' && typeof p.v === 'number' && typeof p.c === 'number') {
      return { pid: p.pid, v: p.v, c: p.c, gone: p.gone === 1 ? 1 : 0 };
    }
  } catch {
    // A corrupt value is a miss.
  }
  return null;
}

function pointerOf(p: StoredPlaybook, gone: 0 | 1): Pointer {
  return { pid: p.pid, v: p.version, c: p.createddate, gone };
}

/** The L2 key of one version's definition (immutable; also read by run-graphs.ts). */
export function versionKey(keyPrefix: string, tenant: string, pid: string, version: number): string {
  return `${keyPrefix}pbv:{${tenant}}:${pid}:${version}`;
}

/** A PlaybookCache reading through to `loader` (MongoDB) behind `guard` (Redis). */
export function createPlaybookCache(
  loader: Pick<PlaybookStore, 'findByName'>,
  guard: RedisGuard,
  opts: PlaybookCacheOptions,
): PlaybookCache {
  const clock = opts.clock ?? Date.now;
  const count = opts.count ?? ((m: CacheMetric) => metrics.addMetric(m, MetricUnit.Count, 1));
  const stats: PlaybookCacheStats = { l1Hits: 0, l1Misses: 0, l2Hits: 0, l2Misses: 0, dbReads: 0, coalesced: 0 };
  const l1 = new LRUCache<string, L1Entry>({
    max: opts.l1MaxEntries,
    maxSize: opts.l1MaxBytes,
    sizeCalculation: (e) => Math.max(1, e.size),
    ttl: opts.l1TtlMs,
  });
  const inflight = new Map<string, Promise<StoredPlaybook | null>>();
  /** Keys written while a load was in flight: that load's (older) result must not enter L1. */
  const dirty = new Set<string>();

  // Hash tags ({tenant}) keep a tenant's keys in one cluster slot, so a write pipeline stays in one slot.
  const pointerKey = (tenant: string, name: string) => `${opts.keyPrefix}pb:{${tenant}}:${name}`;
  const defKey = (tenant: string, pid: string, version: number) => versionKey(opts.keyPrefix, tenant, pid, version);
  const l1Key = (tenant: string, name: string) => `${tenant}/${name}`;

  function record(metric: CacheMetric): void {
    if (metric === 'CacheL1Hit') stats.l1Hits += 1;
    else if (metric === 'CacheL1Miss') stats.l1Misses += 1;
    else if (metric === 'CacheL2Hit') stats.l2Hits += 1;
    else stats.l2Misses += 1;
    count(metric);
  }

  function remember(key: string, playbook: StoredPlaybook, size: number): void {
    l1.set(key, { playbook, validatedAt: clock(), size });
  }

  /** Writes the definition then advances the pointer (a reader never follows a pointer to nothing). */
  async function publish(p: StoredPlaybook, json: string | null, gone: 0 | 1): Promise<void> {
    const pointer = pointerOf(p, gone);
    await guard.run('publish playbook', async (redis) => {
      const pipe = redis.pipeline();
      if (json !== null) pipe.set(defKey(p.tenant_code, p.pid, p.version), json, 'EX', opts.l2TtlSeconds);
      pipe.eval(
        ADVANCE_POINTER,
        1,
        pointerKey(p.tenant_code, p.name),
        JSON.stringify(pointer),
        pointer.c,
        pointer.v,
        pointer.gone,
        opts.pointerTtlSeconds,
      );
      const results = (await pipe.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    });
  }

  /** The L1 entry revalidated against L2, or the definition from L2, or from MongoDB. */
  async function load(tenant: string, name: string, key: string, entry: L1Entry | undefined) {
    const raw = await guard.run('read playbook pointer', (r) => r.get(pointerKey(tenant, name)));
    const pointer = typeof raw === 'string' ? parsePointer(raw) : null;
    if (pointer?.gone) {
      record('CacheL1Miss');
      record('CacheL2Hit');
      l1.delete(key);
      return null;
    }
    if (pointer && entry && entry.playbook.pid === pointer.pid && entry.playbook.version === pointer.v) {
      entry.validatedAt = clock();
      record('CacheL1Hit');
      return entry.playbook;
    }
    record('CacheL1Miss');
    if (pointer) {
      const json = await guard.run('read playbook', (r) => r.get(defKey(tenant, pointer.pid, pointer.v)));
      if (typeof json === 'string') {
        try {
          const playbook = JSON.parse(json) as StoredPlaybook;
          record('CacheL2Hit');
          if (!dirty.has(key)) remember(key, playbook, json.length);
          return playbook;
        } catch {
          // Corrupt: read MongoDB and overwrite it.
        }
      }
    }
    record('CacheL2Miss');
    stats.dbReads += 1;
    const playbook = await loader.findByName(tenant, name);
    if (!playbook) {
      l1.delete(key);
      return null;
    }
    const json = JSON.stringify(playbook);
    if (!dirty.has(key)) remember(key, playbook, json.length);
    await publish(playbook, json, 0);
    return playbook;
  }

  return {
    stats,

    async getByName(tenant_code, name) {
      const key = l1Key(tenant_code, name);
      const entry = l1.get(key);
      if (entry && clock() - entry.validatedAt < opts.trustMs) {
        record('CacheL1Hit');
        return entry.playbook;
      }
      const pending = inflight.get(key);
      if (pending) {
        stats.coalesced += 1;
        record('CacheL1Miss');
        return pending;
      }
      const flight = load(tenant_code, name, key, entry).finally(() => {
        inflight.delete(key);
        dirty.delete(key);
      });
      inflight.set(key, flight);
      return flight;
    },

    async written(p) {
      const key = l1Key(p.tenant_code, p.name);
      if (inflight.has(key)) dirty.add(key);
      const json = JSON.stringify(p);
      remember(key, p, json.length);
      await publish(p, json, 0);
    },

    async removed(p) {
      const key = l1Key(p.tenant_code, p.name);
      if (inflight.has(key)) dirty.add(key);
      l1.delete(key);
      await publish(p, null, 1);
    },
  };
}

/** `store` whose writes keep `cache` current (management reads stay on MongoDB: read-your-writes). */
export function invalidatingStore(store: PlaybookStore, cache: PlaybookCache): PlaybookStore {
  return {
    findByName: (tenant, name) => store.findByName(tenant, name),
    list: (tenant, query) => store.list(tenant, query),
    listVersions: (tenant, pid, query) => store.listVersions(tenant, pid, query),
    getVersion: (tenant, pid, version) => store.getVersion(tenant, pid, version),
    async create(p, audit) {
      await store.create(p, audit);
      await cache.written(p);
    },
    async replace(current, next, audit) {
      const ok = await store.replace(current, next, audit);
      if (ok) await cache.written(next);
      return ok;
    },
    async remove(current, audit) {
      const ok = await store.remove(current, audit);
      if (ok) await cache.removed(current);
      return ok;
    },
  };
}
