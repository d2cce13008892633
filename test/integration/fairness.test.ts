/**
 * Per-tenant fairness: the slot script against the real Redis, the admission of a
 * batch, and a flood from tenant A that must not hold tenant B's runs back.
 */
import type { Context as LambdaContext, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantSlots } from '../../lib/adapters/redis/tenant-slots.js';
import { createRedisClient, getRedis } from '../../lib/clients.js';
import { ConfigError, parseConfigSection } from '../../lib/config.js';
import { type BatchItem, executeBatch } from '../../lib/engine/execute-batch.js';
import { createFairness, deferDelaySeconds, type FairnessDeps } from '../../lib/engine/fairness.js';
import type { OutgoingTaskMessage } from '../../lib/engine/ports.js';
import { taskMessage } from '../../lib/engine/task-messages.js';
import { executeBatchDeps, taskQueue } from '../../lib/services.js';
import { createHarness, type ExecutionBody, type Harness } from '../support/harness.js';
import type { SqsHandler } from '../support/sqs-poller.js';

// The deployed handler reads these once per container: tenant A is capped at 4 running
// tasks, every other tenant at 50.
const CAP_A = 4;
process.env.TENANT_MAX_RUNNING_TASKS = '50';
process.env.TENANT_MAX_RUNNING_OVERRIDES = JSON.stringify({ 'tenant-a': CAP_A });
process.env.FAIRNESS_DEFER_SECONDS = '1';

const prefix = () => `${process.env.MONGO_DB}:fairness-test:`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fairness configuration', () => {
  it('reads the default cap, the overrides as a map, and names a malformed override variable', () => {
    const cfg = parseConfigSection('fairness', { TENANT_MAX_RUNNING_OVERRIDES: '{"t1": 7}' });
    expect(cfg.TENANT_MAX_RUNNING_TASKS).toBe(50);
    expect(cfg.FAIRNESS_DEFER_SECONDS).toBe(2);
    expect(cfg.FAIRNESS_MAX_DEFER_SECONDS).toBe(60);
    expect(cfg.TENANT_MAX_RUNNING_OVERRIDES.get('t1')).toBe(7);
    expect(cfg.TENANT_MAX_RUNNING_OVERRIDES.get('constructor')).toBeUndefined();
    expect(parseConfigSection('fairness', {}).TENANT_MAX_RUNNING_OVERRIDES.size).toBe(0);
    for (const bad of ['{t1: 7}', '[7]', '{"t1": 0}', '{"t1": "7"}']) {
      expect(() => parseConfigSection('fairness', { TENANT_MAX_RUNNING_OVERRIDES: bad })).toThrow(ConfigError);
      expect(() => parseConfigSection('fairness', { TENANT_MAX_RUNNING_OVERRIDES: bad })).toThrow(
        /TENANT_MAX_RUNNING_OVERRIDES/,
      );
    }
  });

  it('defers by the backlog over 4 x the cap, within the base and the maximum, with jitter', () => {
    const bounds = { baseSeconds: 2, maxSeconds: 60 };
    // A small backlog: the base (jitter below it is clamped).
    expect(deferDelaySeconds(3, 10, bounds, () => 0)).toBe(2);
    expect(deferDelaySeconds(3, 10, bounds, () => 0.999)).toBe(3);
    // 400 deferred with a cap of 10: copies come back at ~40/s, so ~10 s, 0.75..1.25 of it.
    expect(deferDelaySeconds(400, 10, bounds, () => 0)).toBe(8);
    expect(deferDelaySeconds(400, 10, bounds, () => 0.5)).toBe(10);
    expect(deferDelaySeconds(400, 10, bounds, () => 0.999)).toBe(13);
    // A huge storm: the maximum, and never above SQS's 900 s.
    expect(deferDelaySeconds(1_000_000, 10, bounds, () => 0.999)).toBe(60);
    expect(deferDelaySeconds(1_000_000, 1, { baseSeconds: 2, maxSeconds: 5_000 }, () => 0.5)).toBe(900);
  });
});

describe('tenant slots in Redis', () => {
  let r1: Redis;
  let r2: Redis;
  beforeAll(() => {
    const cfg = parseConfigSection('redis', process.env);
    r1 = createRedisClient(cfg);
    r2 = createRedisClient(cfg);
  });
  afterAll(() => {
    r1.disconnect();
    r2.disconnect();
  });

  it('admits up to the cap, frees a slot on release, drops expired leases, and shares the cap across containers', async () => {
    const slots = createTenantSlots(r1, { keyPrefix: prefix() });
    const other = createTenantSlots(r2, { keyPrefix: prefix() }); // a second container
    const keys = ['p1:a', 'p1:b', 'p1:c', 'p1:d', 'p1:e'];

    expect(await slots.acquire('t-unit', keys, 3, 60_000)).toEqual({
      grants: ['new', 'new', 'new', 'over', 'over'],
      deferred: 2,
    });
    expect(await slots.running('t-unit')).toBe(3);
    // A redelivered key that holds a live slot is admitted without a new one, even at the cap;
    // a key deferred again counts once in the backlog.
    expect(await other.acquire('t-unit', ['p1:a', 'p1:d'], 3, 60_000)).toEqual({
      grants: ['held', 'over'],
      deferred: 2,
    });
    // Another tenant has slots of its own.
    expect(await other.acquire('t-other', ['p9:x'], 1, 60_000)).toEqual({ grants: ['new'], deferred: 0 });

    // A release frees a slot; the deferred key that takes it leaves the backlog.
    await slots.release('t-unit', ['p1:b']);
    expect(await other.acquire('t-unit', ['p1:d', 'p1:e'], 3, 60_000)).toEqual({
      grants: ['new', 'over'],
      deferred: 1,
    });

    // Leases expire: a crashed worker's slots come back without a release.
    await slots.release('t-unit', ['p1:a', 'p1:c', 'p1:d']);
    expect((await slots.acquire('t-unit', ['p2:a', 'p2:b'], 3, 150)).grants).toEqual(['new', 'new']);
    expect((await other.acquire('t-unit', ['p2:c', 'p2:d'], 3, 60_000)).grants).toEqual(['new', 'over']);
    await sleep(300);
    expect(await slots.running('t-unit')).toBe(1);
    expect((await other.acquire('t-unit', ['p2:d', 'p2:e', 'p2:f'], 3, 60_000)).grants).toEqual(['new', 'new', 'over']);
    // The set itself expires with its last lease: an idle tenant leaves nothing behind.
    const ttl = await r1.pttl(`${prefix()}slots:{t-unit}`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('runs what it admits, defers the rest through the queue without failing it, and releases in a finally', async () => {
    const sent: OutgoingTaskMessage[] = [];
    const deps: FairnessDeps = {
      slots: createTenantSlots(r1, { keyPrefix: prefix() }),
      queue: { send: async (m) => void sent.push(...m) },
      capFor: (tenant) => (tenant === 'ta' ? 3 : 50),
      deferSeconds: 2,
      maxDeferSeconds: 60,
      leaseMarginMs: 1_000,
      random: Math.random,
      clock: Date.now,
    };
    const fair = createFairness(deps);
    const item = (tenant: string, task: string, id = `${tenant}-${task}`): BatchItem => ({
      messageId: id,
      body: JSON.stringify(taskMessage({ tenant_code: tenant, peid: 'run1', task_id: task }, 1, 0).message),
    });
    const batch = [
      item('ta', 't1'),
      item('ta', 't1', 'ta-t1-duplicate'), // the same task key counts once
      item('ta', 't2'),
      item('tb', 't1'),
      item('ta', 't3'),
      item('ta', 't4'),
      item('ta', 't5'),
      { messageId: 'junk', body: 'not a task message' },
    ];
    let seen: string[] = [];
    let runningDuring = -1;
    const result = await fair.run(batch, 10_000, async (admitted) => {
      seen = admitted.map((i) => i.messageId);
      runningDuring = await deps.slots.running('ta');
      return { failedMessageIds: ['junk'] };
    });
    expect(seen.sort()).toEqual(['junk', 'ta-t1', 'ta-t1-duplicate', 'ta-t2', 'ta-t3', 'tb-t1']);
    expect(runningDuring).toBe(3);
    expect(sent.map((m) => m.message.task_id).sort()).toEqual(['t4', 't5']);
    expect(sent.every((m) => m.delaySeconds >= 2 && m.delaySeconds <= 3 && m.message.attempt === 1)).toBe(true);
    expect(result.failedMessageIds).toEqual(['junk']);
    expect(await deps.slots.running('ta')).toBe(0);
    expect(await deps.slots.running('tb')).toBe(0);

    // Released even when the batch throws.
    await expect(
      fair.run([item('ta', 'x1')], 10_000, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await deps.slots.running('ta')).toBe(0);
  });

  it('fails open: with Redis unreachable every message runs and nothing is deferred', async () => {
    const dead = createRedisClient(
      parseConfigSection('redis', { REDIS_URL: 'redis://127.0.0.1:1', REDIS_CONNECT_TIMEOUT_MS: '100' }),
    );
    try {
      const sent: OutgoingTaskMessage[] = [];
      const fair = createFairness({
        slots: createTenantSlots(dead, { keyPrefix: prefix(), connectWaitMs: 50 }),
        queue: { send: async (m) => void sent.push(...m) },
        capFor: () => 1,
        deferSeconds: 2,
        maxDeferSeconds: 60,
        leaseMarginMs: 1_000,
        random: Math.random,
        clock: Date.now,
      });
      const items = ['a', 'b', 'c'].map((t) => ({
        messageId: t,
        body: JSON.stringify(taskMessage({ tenant_code: 'ta', peid: 'run2', task_id: t }, 1, 0).message),
      }));
      for (let round = 0; round < 2; round++) {
        const started = Date.now();
        let seen: string[] = [];
        const result = await fair.run(items, 10_000, async (admitted) => {
          seen = admitted.map((i) => i.messageId);
          return { failedMessageIds: [] };
        });
        expect(seen).toEqual(['a', 'b', 'c']);
        expect(result.failedMessageIds).toEqual([]);
        expect(Date.now() - started).toBeLessThan(1_000);
      }
      expect(sent).toEqual([]);
    } finally {
      dead.disconnect();
    }
  });
});

describe('a flood from one tenant', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  const A_RUNS = 40;
  const A_WIDTH = 5;
  const A_DELAY_MS = 100;
  const B_RUNS = 3;

  async function waitDone(peid: string, token: string, timeoutMs: number): Promise<ExecutionBody> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const e = await h.execution(peid, token);
      if (e.execution_status !== 'running') return e;
      if (Date.now() > end) throw new Error(`run ${peid} still running after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** An SQS handler like functions/execute-task.ts, but with a cap no tenant reaches. */
  function uncappedHandler(): SqsHandler {
    const fair = createFairness({
      slots: createTenantSlots(getRedis(), { keyPrefix: `${process.env.MONGO_DB}:` }),
      queue: taskQueue(),
      capFor: () => 1_000_000,
      deferSeconds: 1,
      maxDeferSeconds: 60,
      leaseMarginMs: 30_000,
      random: Math.random,
      clock: Date.now,
    });
    return async (event: SQSEvent, context: LambdaContext): Promise<SQSBatchResponse> => {
      const result = await fair.run(
        event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
        context.getRemainingTimeInMillis(),
        (admitted) => executeBatch(executeBatchDeps(), admitted, context.getRemainingTimeInMillis()),
      );
      return { batchItemFailures: result.failedMessageIds.map((id) => ({ itemIdentifier: id })) };
    };
  }

  interface Phase {
    bRuntimes: number[];
    aDrainMs: number;
    stubMaxConcurrent: number;
    maxRunningA: number;
  }

  async function flood(label: string, handler?: SqsHandler): Promise<Phase> {
    h.stub.reset();
    const poller = h.poller({ maxConcurrency: 10, batchSize: 10, ...(handler ? { handler } : {}) }).start();
    const slots = createTenantSlots(getRedis(), { keyPrefix: `${process.env.MONGO_DB}:` });
    let maxRunningA = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRunningA = Math.max(maxRunningA, await slots.running('tenant-a').catch(() => 0));
        await sleep(20);
      }
    })();
    try {
      const started = Date.now();
      const aRuns = await Promise.all(Array.from({ length: A_RUNS }, () => h.startRun(`flood-${label}`, {}, h.tokenA)));
      const bRuns: string[] = [];
      for (let i = 0; i < B_RUNS; i++) bRuns.push(await h.startRun(`small-${label}`, {}, h.tokenB));
      const bDone = await Promise.all(bRuns.map((peid) => waitDone(peid, h.tokenB, 60_000)));
      for (const e of bDone) expect(e.execution_status).toBe('completed');
      // Every A run completes with every task succeeded: nothing deferred was dropped.
      for (const peid of aRuns) {
        const e = await waitDone(peid, h.tokenA, 75_000);
        expect(e.execution_status).toBe('completed');
        expect(e.tasks.every((t) => t.status === 'succeeded')).toBe(true);
      }
      const aDrainMs = Date.now() - started;
      expect(h.stub.callsTo(`/delay/${A_DELAY_MS}/${label}/a`)).toHaveLength(A_RUNS * A_WIDTH);
      return {
        bRuntimes: bDone.map((e) => e.playbook_runtime ?? Number.POSITIVE_INFINITY),
        aDrainMs,
        stubMaxConcurrent: h.stub.maxConcurrent,
        maxRunningA,
      };
    } finally {
      sampling = false;
      await sampler;
      await poller.stop();
    }
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

  it('keeps tenant B within a bound while tenant A drains at its cap, and B waits far longer without a cap', async () => {
    for (const label of ['nocap', 'cap']) {
      await h.createPlaybook(
        {
          name: `flood-${label}`,
          tasks: Array.from({ length: A_WIDTH }, (_, i) => ({
            id: `a${i}`,
            type: 'http',
            config: { method: 'GET', url: `${h.stub.url}/delay/${A_DELAY_MS}/${label}/a${i}` },
          })),
        },
        h.tokenA,
      );
      await h.createPlaybook(
        {
          name: `small-${label}`,
          tasks: [
            { id: 'lookup', type: 'http', config: { method: 'GET', url: `${h.stub.url}/delay/50/${label}/b` } },
            { id: 'verdict', type: 'transform', depends_on: ['lookup'], config: { expression: '"ok"' } },
          ],
        },
        h.tokenB,
      );
    }

    const nocap = await flood('nocap', uncappedHandler());
    const cap = await flood('cap'); // the real handler, configured above
    console.info(`fairness flood: ${JSON.stringify({ nocap, cap })}`);

    // A never held more than its cap, seen from Redis and, independently, from the integration:
    // at most 4 A calls plus B's 3 lookups were ever in flight at the stub (without the cap: 23-50).
    expect(cap.maxRunningA).toBeLessThanOrEqual(CAP_A);
    expect(nocap.maxRunningA).toBeGreaterThan(CAP_A);
    expect(cap.stubMaxConcurrent).toBeLessThanOrEqual(CAP_A + B_RUNS);
    // The bound: a B run is two hops (lookup, then verdict). With A capped at 4 running tasks,
    // at least 6 of the 10 workers never hold A's work and A's deferred copies come back at
    // ~4 x cap = 16/s, so each B message runs in the next batch received (one executeBatch,
    // 0.1-0.5 s on the local stack). Measured 0.34-0.96 s per B run on a 2-core machine with
    // a load average of 7-13; 3 s leaves 3x that. Without the cap B waits behind A's 200
    // queued tasks: 3.1-5.2 s measured, 3.8-10x the capped median; asserted at 2x.
    expect(Math.max(...cap.bRuntimes)).toBeLessThan(3_000);
    expect(median(nocap.bRuntimes)).toBeGreaterThan(2 * median(cap.bRuntimes));
  }, 120_000);
});
