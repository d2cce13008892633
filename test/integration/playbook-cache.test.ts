/**
 * The two-level playbook cache against real Redis and MongoDB: accounting per level,
 * invalidation between two "containers" (two cache objects, each with its own L1 and its
 * own Redis connection) within the documented bound, a Redis killed mid-test, and
 * single-flight of a burst of cold reads (counted with the driver's command monitoring).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { type CommandStartedEvent, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CacheMetric,
  createPlaybookCache,
  invalidatingStore,
  type PlaybookCacheOptions,
} from '../../lib/adapters/cache/playbook-cache.js';
import { createRedisGuard } from '../../lib/adapters/cache/redis-guard.js';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { createPlaybookStore } from '../../lib/adapters/mongo/playbook-store.js';
import { createRedisClient } from '../../lib/clients.js';
import { parseConfigSection } from '../../lib/config.js';
import type { StoredPlaybook } from '../../lib/engine/model.js';
import type { PlaybookStore } from '../../lib/engine/ports/playbook-store.js';

const dbName = process.env.MONGO_DB ?? '';
let mongo: MongoClient;
let store: PlaybookStore;
const finds: CommandStartedEvent[] = [];
const redisClients: Redis[] = [];

beforeAll(async () => {
  mongo = new MongoClient(process.env.MONGO_URI ?? '', { monitorCommands: true });
  mongo.on('commandStarted', (e) => {
    if (e.commandName === 'find' && e.command.find === COLLECTIONS.playbooks) finds.push(e);
  });
  store = createPlaybookStore(mongo.db(dbName));
});
afterAll(async () => {
  for (const r of redisClients) r.disconnect();
  await mongo.close();
});

function redis(url = process.env.REDIS_URL ?? ''): Redis {
  const client = createRedisClient(parseConfigSection('redis', { REDIS_URL: url, REDIS_COMMAND_TIMEOUT_MS: '300' }));
  redisClients.push(client);
  return client;
}

/** One container's cache: its own L1, its own Redis connection. */
function container(opts: Partial<PlaybookCacheOptions> & { redisUrl?: string } = {}) {
  const counted: CacheMetric[] = [];
  const cache = createPlaybookCache(store, createRedisGuard(redis(opts.redisUrl), { cooldownMs: 1_000 }), {
    l1MaxEntries: 100,
    l1MaxBytes: 10 * 1024 * 1024,
    l1TtlMs: 60_000,
    trustMs: 60_000,
    l2TtlSeconds: 600,
    pointerTtlSeconds: 60,
    keyPrefix: `${dbName}:`,
    count: (m) => counted.push(m),
    ...opts,
  });
  return { cache, counted };
}

function playbook(tenant: string, name: string, url = 'https://intel.example/v1'): StoredPlaybook {
  const now = Date.now();
  return {
    pid: randomUUID(),
    tenant_code: tenant,
    name,
    status: 'active',
    tasks: [
      {
        id: 'call',
        type: 'http',
        config: { method: 'GET', url, headers: {} },
        depends_on: [],
        join: 'all',
        on_failure: 'fail',
        retry: { max_attempts: 1, backoff_ms: 1000, max_backoff_ms: 60000 },
        timeout_ms: 10000,
      },
    ],
    version: 1,
    createddate: now,
    updateddate: now,
  } as StoredPlaybook;
}

function nextVersion(p: StoredPlaybook, url: string): StoredPlaybook {
  const next = structuredClone(p);
  next.version = p.version + 1;
  next.updateddate = Date.now();
  (next.tasks[0] as { config: { url: string } }).config.url = url;
  return next;
}

const urlOf = (p: StoredPlaybook | null) => (p?.tasks[0] as { config: { url: string } } | undefined)?.config.url;

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('hit and miss accounting per level', () => {
  it('counts L1, L2 and MongoDB reads, and emits the matching metrics', async () => {
    const p = playbook('cache-t1', 'acct');
    await store.create(p);
    const a = container();
    const b = container();
    const dbBefore = finds.length;

    expect(await a.cache.getByName('cache-t1', 'acct')).toEqual(p);
    expect(a.cache.stats).toMatchObject({ l1Hits: 0, l1Misses: 1, l2Hits: 0, l2Misses: 1, dbReads: 1 });
    expect(await a.cache.getByName('cache-t1', 'acct')).toEqual(p);
    expect(a.cache.stats).toMatchObject({ l1Hits: 1, l1Misses: 1, l2Hits: 0, l2Misses: 1, dbReads: 1 });

    // Another container: its L1 is cold, Redis has the definition.
    expect(await b.cache.getByName('cache-t1', 'acct')).toEqual(p);
    expect(await b.cache.getByName('cache-t1', 'acct')).toEqual(p);
    expect(b.cache.stats).toMatchObject({ l1Hits: 1, l1Misses: 1, l2Hits: 1, l2Misses: 0, dbReads: 0 });
    expect(finds.length - dbBefore).toBe(1);

    // An unknown playbook is a miss at both levels and a MongoDB read (no negative caching).
    expect(await b.cache.getByName('cache-t1', 'nothing-here')).toBeNull();
    expect(b.cache.stats).toMatchObject({ l1Misses: 2, l2Misses: 1, dbReads: 1 });

    expect(a.counted).toEqual(['CacheL1Miss', 'CacheL2Miss', 'CacheL1Hit']);
    expect(b.counted).toEqual(['CacheL1Miss', 'CacheL2Hit', 'CacheL1Hit', 'CacheL1Miss', 'CacheL2Miss']);
  });

  it('revalidates an L1 entry past its trust window with the version pointer only', async () => {
    const p = playbook('cache-t1', 'revalidate');
    await store.create(p);
    let now = 1_000_000;
    const a = container({ trustMs: 1_000, clock: () => now });
    await a.cache.getByName('cache-t1', 'revalidate');
    now += 5_000;
    expect(await a.cache.getByName('cache-t1', 'revalidate')).toEqual(p);
    // Still an L1 hit: the pointer matched, the definition was not read again.
    expect(a.cache.stats).toMatchObject({ l1Hits: 1, l1Misses: 1, l2Hits: 0, dbReads: 1 });
  });
});

describe('invalidation between containers', () => {
  const TRUST_MS = 300;

  // The containers' clocks are driven by the test, so the window is checked exactly, on
  // either side, whatever the machine's load.
  it('an update in one container reaches another within the trust window', async () => {
    const v1 = playbook('cache-t2', 'shared', 'https://intel.example/v1');
    await store.create(v1);
    let now = 1_000_000;
    const writer = container({ trustMs: TRUST_MS, clock: () => now });
    const reader = container({ trustMs: TRUST_MS, clock: () => now });
    expect(urlOf(await writer.cache.getByName('cache-t2', 'shared'))).toBe('https://intel.example/v1');
    expect(urlOf(await reader.cache.getByName('cache-t2', 'shared'))).toBe('https://intel.example/v1');

    const v2 = nextVersion(v1, 'https://intel.example/v2');
    expect(await invalidatingStore(store, writer.cache).replace(v1, v2)).toBe(true);
    // The writing container sees its own write at once.
    expect(urlOf(await writer.cache.getByName('cache-t2', 'shared'))).toBe('https://intel.example/v2');
    // The other container trusts its L1 copy for the window, and not a millisecond longer.
    now += TRUST_MS - 1;
    expect(urlOf(await reader.cache.getByName('cache-t2', 'shared'))).toBe('https://intel.example/v1');
    now += 1;
    expect(urlOf(await reader.cache.getByName('cache-t2', 'shared'))).toBe('https://intel.example/v2');
    // Both of the reader's definitions came from L2 (the first one put there by the writer), none from MongoDB.
    expect(reader.cache.stats).toMatchObject({ l2Hits: 2, dbReads: 0 });
  });

  it('a delete in one container reaches another within the trust window', async () => {
    const p = playbook('cache-t2', 'deleted');
    await store.create(p);
    let now = 1_000_000;
    const writer = container({ trustMs: TRUST_MS, clock: () => now });
    const reader = container({ trustMs: TRUST_MS, clock: () => now });
    await writer.cache.getByName('cache-t2', 'deleted');
    await reader.cache.getByName('cache-t2', 'deleted');
    expect(await invalidatingStore(store, writer.cache).remove(p)).toBe(true);
    expect(await writer.cache.getByName('cache-t2', 'deleted')).toBeNull();
    now += TRUST_MS - 1;
    expect(await reader.cache.getByName('cache-t2', 'deleted')).not.toBeNull();
    now += 1;
    expect(await reader.cache.getByName('cache-t2', 'deleted')).toBeNull();
  });

  it('the version pointer only moves forward: a late, older write cannot win', async () => {
    const v1 = playbook('cache-t2', 'ordered');
    await store.create(v1);
    const v2 = nextVersion(v1, 'https://intel.example/v2');
    const v3 = nextVersion(v2, 'https://intel.example/v3');
    const a = container();
    await a.cache.written(v3);
    await a.cache.written(v2); // arrives late
    const cold = container();
    expect((await cold.cache.getByName('cache-t2', 'ordered'))?.version).toBe(3);
    // A re-created playbook (new pid, later createddate) replaces a deleted one's tombstone.
    await a.cache.removed(v3);
    expect(await container().cache.getByName('cache-t2', 'ordered')).toBeNull();
    const reborn = { ...playbook('cache-t2', 'ordered'), createddate: v3.createddate + 1 };
    await a.cache.written(reborn);
    expect((await container().cache.getByName('cache-t2', 'ordered'))?.pid).toBe(reborn.pid);
  });
});

describe('single-flight', () => {
  it('a burst of 50 concurrent reads of a cold key reads MongoDB once', async () => {
    const p = playbook('cache-t3', 'burst');
    await store.create(p);
    const { cache } = container();
    const before = finds.length;
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.getByName('cache-t3', 'burst')));
    expect(results.every((r) => r?.pid === p.pid)).toBe(true);
    expect(finds.length - before).toBe(1);
    expect(cache.stats).toMatchObject({ dbReads: 1, coalesced: 49, l1Misses: 50, l2Misses: 1 });

    // A second cold container: the same burst is served by one Redis read and no MongoDB read.
    const second = container();
    await Promise.all(Array.from({ length: 50 }, () => second.cache.getByName('cache-t3', 'burst')));
    expect(finds.length - before).toBe(1);
    expect(second.cache.stats).toMatchObject({ l2Hits: 1, coalesced: 49, dbReads: 0 });
  });
});

describe('Redis stopped mid-test', () => {
  let server: ChildProcess | undefined;
  let url = '';

  async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
  }

  beforeAll(async () => {
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const probe = redis(url);
    await until(async () => (probe.status === 'ready' ? true : undefined), 10_000);
  });
  afterAll(() => {
    if (server?.exitCode === null) server.kill('SIGKILL');
  });

  it('keeps answering from MongoDB, fast, and keeps writes working', async () => {
    const v1 = playbook('cache-t4', 'redis-down');
    const other = playbook('cache-t4', 'cold-key');
    await store.create(v1);
    await store.create(other);
    const a = container({ redisUrl: url, trustMs: 100 });
    const b = container({ redisUrl: url, trustMs: 100 });
    await until(async () => (redisClients.every((c) => c.status === 'ready') ? true : undefined), 5_000);
    expect((await a.cache.getByName('cache-t4', 'redis-down'))?.version).toBe(1);
    expect((await b.cache.getByName('cache-t4', 'redis-down'))?.version).toBe(1);
    expect(b.cache.stats.l2Hits).toBe(1);

    // Stop this test's own Redis by its PID.
    const pid = server?.pid;
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGKILL');
    await new Promise<void>((resolve) => server?.once('exit', () => resolve()));

    // A cold key and an entry past its trust window: both from MongoDB, neither slow.
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    expect((await a.cache.getByName('cache-t4', 'cold-key'))?.pid).toBe(other.pid);
    expect((await a.cache.getByName('cache-t4', 'redis-down'))?.version).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_000);

    // Writes still succeed (the invalidation is lost with Redis), and the other container
    // sees them: it cannot validate against Redis, so it re-reads MongoDB after its trust window.
    const v2 = nextVersion(v1, 'https://intel.example/v2');
    expect(await invalidatingStore(store, a.cache).replace(v1, v2)).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    expect((await b.cache.getByName('cache-t4', 'redis-down'))?.version).toBe(2);
    expect(a.cache.stats.l2Misses).toBeGreaterThanOrEqual(2);
    expect(b.cache.stats.dbReads).toBeGreaterThanOrEqual(1);
  });
});
