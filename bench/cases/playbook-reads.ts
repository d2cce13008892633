/**
 * Case 3, playbook reads: 20,000 reads of 500 playbooks (5 tenants x 100) with a
 * Zipf(1.1) key distribution, spread over 4 simulated containers that read at the
 * same time (one read at a time each, as a Lambda container does): MongoDB every
 * time (baseline) vs the product's two-level cache (lib/adapters/cache/playbook-cache.ts,
 * L1 lru-cache per container + L2 Redis shared, production settings from lib/config.ts).
 * Every round starts cold: new L1s and a fresh Redis key namespace.
 */
import type { Db } from 'mongodb';
import { createPlaybookCache, type PlaybookCacheStats } from '../../lib/adapters/cache/playbook-cache.js';
import { createRedisGuard } from '../../lib/adapters/cache/redis-guard.js';
import { createPlaybookStore } from '../../lib/adapters/mongo/playbook-store.js';
import { getRedis } from '../../lib/clients.js';
import { getConfig } from '../../lib/config.js';
import type { StoredPlaybook } from '../../lib/engine/model.js';
import { uncachedPlaybookReader } from '../baselines/uncached-playbook-read.js';
import { seededRandom, zipfSampler } from '../lib/random.js';
import { deleteKeys } from '../lib/redis-keys.js';
import { alternate, median, percentile, round, row, targets } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';
import { drive, fanOutPlaybook, storePlaybook } from '../lib/workload.js';

const TENANTS = 5;
const PER_TENANT = 100;
const CONTAINERS = 4;

interface Key {
  tenant: string;
  name: string;
}

const METHOD = `
**Data.** 500 playbooks of 11 tasks (10 http calls and a join, about 3 KB of JSON each), created through the
product's createPlaybook. The key sequence is drawn once from Zipf(s = 1.1) over the 500 keys with a fixed seed,
so both sides read exactly the same keys in the same order.
**Sides.** Baseline: ${'`'}findOne({ tenant_code, name })${'`'} on every read (bench/baselines/uncached-playbook-read.ts).
Product: ${'`'}createPlaybookCache${'`'} with the configuration's defaults (L1 500 entries / 32 MB / 5 min, served
unchecked for 1 s and then revalidated against the Redis version pointer). The reads are dealt round-robin to 4
containers that run concurrently, each with its own L1 and all sharing Redis, so a key one container loaded is
an L2 hit for the next. Hit ratio = reads not sent to MongoDB / reads (the cache's own counters).
`;

export function playbookReadsCase(db: Db): BenchCase {
  return {
    id: 'playbook-reads',
    title: 'Playbook reads: MongoDB every time vs the two-level cache',
    claim: "Cache Hit Ratio: 0% -> 80-90% (the original's multi-level cache); ours: hit ratio >= 0.9, reads >= 5x",
    method: METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const reads = ctx.quick ? 2_000 : 20_000;
      const store = createPlaybookStore(db);
      const keys: Key[] = [];
      for (let t = 0; t < TENANTS; t++) {
        for (let p = 0; p < PER_TENANT; p++) keys.push({ tenant: `reads-tenant-${t}`, name: `playbook-${p}` });
      }
      await drive(keys.length, 10, async (i) => {
        const key = keys[i] as Key;
        await storePlaybook(
          store,
          { tenant_code: key.tenant, sub: 'bench' },
          fanOutPlaybook(key.name, 'http://127.0.0.1:9/intel/{{ alert.src_ip }}', 10, true),
        );
      });
      // Rank k of the Zipf law is key k of a fixed shuffle (popular playbooks spread over tenants).
      const random = seededRandom(3);
      const order = keys
        .map((k, i) => ({ k, r: random(), i }))
        .sort((a, b) => a.r - b.r)
        .map((x) => x.k);
      const draw = zipfSampler(order.length, 1.1, random);
      const sequence = Array.from({ length: reads }, () => order[draw()] as Key);
      const distinct = new Set(sequence.map((k) => `${k.tenant}/${k.name}`)).size;

      const cfg = getConfig('cache');
      const guard = createRedisGuard(getRedis());
      const prefixBase = `${getConfig('mongo').MONGO_DB}:reads:`;
      const uncached = uncachedPlaybookReader(db);

      interface ReadRound {
        wallMs: number;
        latencies: number[];
        stats?: PlaybookCacheStats;
      }
      // The warm-up (round -1) reads the first tenth of the sequence only.
      const readAll = async (
        round: number,
        makeReader: (c: number) => (t: string, n: string) => Promise<StoredPlaybook | null>,
      ) => {
        const count = round < 0 ? Math.ceil(sequence.length / 10) : sequence.length;
        const latencies: number[] = [];
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: CONTAINERS }, async (_, c) => {
            const read = makeReader(c);
            for (let i = c; i < count; i += CONTAINERS) {
              const k = sequence[i] as Key;
              const s = performance.now();
              const p = await read(k.tenant, k.name);
              latencies.push(performance.now() - s);
              if (!p || p.name !== k.name) throw new Error(`read of ${k.tenant}/${k.name} returned ${p?.name}`);
            }
          }),
        );
        return { wallMs: performance.now() - t0, latencies } as ReadRound;
      };

      const rounds = ctx.quick ? 1 : 3;
      const res = await alternate<ReadRound>({
        warmup: 1,
        rounds,
        log: ctx.log,
        label: 'playbook-reads',
        baseline: { run: (r) => readAll(r, () => uncached) },
        optimized: {
          async run(r) {
            const caches = Array.from({ length: CONTAINERS }, () =>
              createPlaybookCache(store, guard, {
                l1MaxEntries: cfg.PLAYBOOK_CACHE_L1_MAX_ENTRIES,
                l1MaxBytes: cfg.PLAYBOOK_CACHE_L1_MAX_BYTES,
                l1TtlMs: cfg.PLAYBOOK_CACHE_L1_TTL_MS,
                trustMs: cfg.PLAYBOOK_CACHE_TRUST_MS,
                l2TtlSeconds: cfg.PLAYBOOK_CACHE_L2_TTL_SECONDS,
                pointerTtlSeconds: cfg.PLAYBOOK_CACHE_POINTER_TTL_SECONDS,
                // A fresh namespace per round: L2 starts as cold as L1.
                keyPrefix: `${prefixBase}${r}:`,
                count: () => undefined,
              }),
            );
            const out = await readAll(r, (c) => (t, n) => (caches[c] as (typeof caches)[number]).getByName(t, n));
            const stats = caches.reduce<PlaybookCacheStats>(
              (acc, c) => ({
                l1Hits: acc.l1Hits + c.stats.l1Hits,
                l1Misses: acc.l1Misses + c.stats.l1Misses,
                l2Hits: acc.l2Hits + c.stats.l2Hits,
                l2Misses: acc.l2Misses + c.stats.l2Misses,
                dbReads: acc.dbReads + c.stats.dbReads,
                coalesced: acc.coalesced + c.stats.coalesced,
              }),
              { l1Hits: 0, l1Misses: 0, l2Hits: 0, l2Misses: 0, dbReads: 0, coalesced: 0 },
            );
            return { ...out, stats };
          },
        },
      });
      await deleteKeys(guard.redis, `${prefixBase}*`);

      const bWall = median(res.baseline.map((x) => x.wallMs));
      const oWall = median(res.optimized.map((x) => x.wallMs));
      const hitRatios = res.optimized.map((x) => 1 - (x.stats?.dbReads ?? reads) / reads);
      const hit = median(hitRatios);
      const s = res.optimized[Math.floor(res.optimized.length / 2)]?.stats as PlaybookCacheStats;
      const bLat = res.baseline.flatMap((x) => x.latencies);
      const oLat = res.optimized.flatMap((x) => x.latencies);
      return {
        rows: [
          row({
            case: 'playbook-reads',
            name: 'playbook-reads.hit-ratio',
            unit: 'reads not sent to MongoDB / reads',
            baseline: 0,
            optimized: round(hit, 4),
            ratio: null,
            target: targets.valueAtLeast(0.9, '>= 0.9'),
            note: 'two-level cache, 4 containers, cold start every round',
          }),
          row({
            case: 'playbook-reads',
            name: 'playbook-reads.latency',
            unit: `ms per ${reads.toLocaleString('en-US')} reads (4 containers)`,
            baseline: round(bWall, 1),
            optimized: round(oWall, 1),
            ratio: round(bWall / oWall),
            target: targets.ratioAtLeast(5),
          }),
        ],
        details: {
          reads,
          distinct_keys_read: distinct,
          containers: CONTAINERS,
          rounds,
          hit_ratio_per_round: hitRatios.map((x) => round(x, 4)),
          stats_median_round: s,
          latency_ms: {
            baseline: { p50: round(percentile(bLat, 50), 3), p99: round(percentile(bLat, 99), 3) },
            optimized: { p50: round(percentile(oLat, 50), 3), p99: round(percentile(oLat, 99), 3) },
          },
        },
        notes: [
          `${reads.toLocaleString('en-US')} reads touched ${distinct} of 500 playbooks; hit ratio ${hit.toFixed(4)} (per round ${hitRatios.map((x) => x.toFixed(3)).join(', ')})`,
          `per level (median round): L1 ${s.l1Hits} hits / ${s.l1Misses} misses (${((100 * s.l1Hits) / reads).toFixed(1)} % of reads); ` +
            `L2 ${s.l2Hits} hits / ${s.l2Misses} misses (${((100 * s.l2Hits) / Math.max(1, s.l2Hits + s.l2Misses)).toFixed(1)} % of the reads that reached Redis); ` +
            `MongoDB ${s.dbReads} reads; ${s.coalesced} reads joined a load in flight`,
          `per read p50/p99: MongoDB ${percentile(bLat, 50).toFixed(3)}/${percentile(bLat, 99).toFixed(3)} ms, cache ${percentile(oLat, 50).toFixed(3)}/${percentile(oLat, 99).toFixed(3)} ms`,
        ],
      };
    },
  };
}
