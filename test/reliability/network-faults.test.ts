/**
 * Network faults between the functions and MongoDB / Redis / SQS: every product client of
 * this file connects through a toxiproxy proxy (the poller that plays Lambda's event source
 * and the test's own checks connect directly), and each link is cut or slowed mid-load.
 *
 *   Redis down or slow  -> every request still succeeds (caches and fairness fail open), bounded
 *   MongoDB cut 5 s     -> API answers 202 or 503 (never 500), batches are retried through
 *                          redelivery, every run ends terminal and consistent, none half-written
 *   SQS down at start   -> 503 with Retry-After, the run is marked failed (ENQUEUE_FAILED)
 *   SQS cut mid-run     -> the sends that failed are retried by redelivery; runs complete
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getMongoWatchdog } from '../../lib/clients/mongo.js';
import { createSqsClient } from '../../lib/clients.js';
import { api } from '../support/api.js';
import { testEndpoints } from '../support/endpoints.js';
import { createHarness, type Harness } from '../support/harness.js';
import type { SqsHandler } from '../support/sqs-poller.js';
import { type ProxyLink, Toxiproxy } from '../support/toxiproxy.js';
import { directDb, mapLimit, runProblems, sleep, storedRun, waitNoRunning } from './support/fixtures.js';
import { queueDepth } from './support/queue.js';
import { shapePlaybook } from './support/shapes.js';

// Before any product client exists (they are created lazily from the environment).
const toxi = new Toxiproxy(inject('toxiproxyUrl'));
const ep = testEndpoints();
const suffix = randomUUID().slice(0, 8);
const hostPort = (url: string) => new URL(url).host;
const proxies = {
  mongo: await toxi.createProxy(`mongo-${suffix}`, hostPort(ep.mongoUri)),
  redis: await toxi.createProxy(`redis-${suffix}`, hostPort(ep.redisUrl)),
  sqs: await toxi.createProxy(`sqs-${suffix}`, hostPort(ep.sqsEndpoint)),
};
process.env.MONGO_URI = `mongodb://${proxies.mongo.listen}`;
process.env.REDIS_URL = `redis://${proxies.redis.listen}`;
process.env.SQS_ENDPOINT = `http://${proxies.sqs.listen}`;
// Function timeout 8 s (poller below) + lease margin 1 s: a claim orphaned by a failed batch expires in ~9 s.
process.env.TASK_LEASE_MARGIN_MS = '1000';
// In scale with the 5 s visibility timeout (production: 720 s): a stuck MongoDB monitor is detected
// after 11 s (2 x 3 s + 5 s, lib/clients/mongo.ts), well before a message's 5 receives run out.
process.env.MONGO_CONNECT_TIMEOUT_MS = '3000';

const FUNCTION_TIMEOUT_MS = 8_000;
let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
const directSqs = createSqsClient(ep.region, ep.sqsEndpoint);

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  await h.createPlaybook(shapePlaybook('diamond', h.stub.url, 'net'));
  await h.createPlaybook(shapePlaybook('any_join', h.stub.url, 'net'));
});
afterAll(async () => {
  await h.close();
  await direct.close();
  directSqs.destroy();
  await Promise.all(Object.values(proxies).map((p) => p.remove()));
});

/** Why consumer invocations failed, by message, with the first stack of each (reported when a case fails). */
const handlerErrors = new Map<string, number>();
const firstStacks = new Map<string, string>();

/** A poller on a direct SQS link (Lambda's event source is not behind the function's network). */
function poller(concurrency = 4) {
  const p = h.poller({ sqs: directSqs, maxConcurrency: concurrency, functionTimeoutMs: FUNCTION_TIMEOUT_MS });
  const opts = (p as unknown as { opts: { handler: SqsHandler } }).opts;
  const real = opts.handler;
  opts.handler = async (event, context) => {
    try {
      return await real(event, context);
    } catch (err) {
      const key = (err as Error).message.slice(0, 120);
      handlerErrors.set(key, (handlerErrors.get(key) ?? 0) + 1);
      if (!firstStacks.has(key)) firstStacks.set(key, `${Date.now()} ${(err as Error).stack?.slice(0, 1200)}`);
      throw err;
    }
  };
  return p.start();
}

/** waitNoRunning, with the dead-letter count and the consumer's errors when it fails. */
async function settle(timeoutMs: number): Promise<void> {
  try {
    await waitNoRunning(direct.db, timeoutMs);
  } catch (err) {
    const dlq = await queueDepth(directSqs, process.env.DLQ_URL ?? '');
    throw new Error(
      `${(err as Error).message}\n${dlq} messages dead-lettered; consumer errors: ${JSON.stringify(Object.fromEntries(handlerErrors))}` +
        `\nfirst stacks: ${JSON.stringify(Object.fromEntries(firstStacks))}\ncut at ${cutAt}`,
    );
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

const startBody = (name: string, i: number) => ({ playbook_name: name, alert_id: `net-${i}`, alert: { score: i } });

/** Every stored run consistent, every task document belonging to an execution (given 10 s to settle). */
async function expectNothingHalfWritten(): Promise<void> {
  let problems = await halfWritten();
  for (let i = 0; i < 50 && problems.length > 0; i++) {
    await sleep(200);
    problems = await halfWritten();
  }
  expect(problems).toEqual([]);
}

async function halfWritten(): Promise<string[]> {
  const execs = await direct.db.collection('playbook_execution_collection').find({}).toArray();
  const problems: string[] = [];
  for (const e of execs) {
    const { exec, tasks } = await storedRun(direct.db, e.peid as string);
    problems.push(...runProblems(exec, tasks));
  }
  const peids = new Set(execs.map((e) => e.peid as string));
  const orphans = await direct.db
    .collection('task_execution_collection')
    .countDocuments({ peid: { $nin: [...peids] } });
  if (orphans > 0) problems.push(`${orphans} task documents without an execution`);
  return problems;
}

/** The contract's error body, without a driver's or SDK's message leaking through. */
function expectCleanError(body: unknown, code: string): void {
  expect(body).toMatchObject({ error: { code, message: expect.any(String) } });
  expect(JSON.stringify(body)).not.toMatch(/mongo|ECONNREFUSED|ECONNRESET|socket|127\.0\.0\.1|redis|sqs\.|stack/i);
}

let cutAt = 0;
async function cutFor(proxy: ProxyLink, ms: number): Promise<void> {
  cutAt = Date.now();
  await proxy.disable();
  await sleep(ms);
  await proxy.enable();
}

describe('Redis down or slow', () => {
  it('down: playbook reads and writes, run starts, analytics and task execution all succeed within bounded time', async () => {
    const p = poller();
    try {
      await proxies.redis.disable();
      // A playbook created while Redis is down: its first read misses L1 and must fall back to MongoDB.
      const created = await timed(() =>
        api('POST', '/playbooks', {
          token: h.tokenA,
          body: shapePlaybook('retry_chain', h.stub.url, 'net-redis-down'),
        }),
      );
      expect(created.value.status).toBe(201);
      const reads = await mapLimit(Array.from({ length: 6 }), 3, () =>
        timed(() => api('GET', '/playbooks/net-redis-down-retry-chain', { token: h.tokenA })),
      );
      const starts = await mapLimit(Array.from({ length: 10 }), 5, (_, i) =>
        timed(() => api('POST', '/runplaybook', { token: h.tokenA, body: startBody('net-redis-down-retry-chain', i) })),
      );
      const top = await timed(() => api('GET', '/analytics/top-playbooks', { token: h.tokenA }));
      for (const r of [created, ...reads, ...starts, top]) {
        expect(r.value.status).toBeLessThan(300);
        // A cache must fail fast: one command timeout (500 ms) or connect wait, never a hang
        // (the bound leaves room for a loaded 2-core machine).
        expect(r.ms).toBeLessThan(5_000);
      }
      const peids = starts.map((s) => (s.value.body as { peid: string }).peid);
      for (const peid of peids) expect((await h.waitFinished(peid, 60_000)).execution_status).toBe('completed');
      console.log(
        `[network] redis down: slowest request ${Math.round(Math.max(...[created, ...reads, ...starts, top].map((r) => r.ms)))} ms`,
      );
    } finally {
      await proxies.redis.enable();
      await p.stop();
    }
  });

  it('slow (3 s latency each way): requests still answer within the cache timeouts, not the latency', async () => {
    const p = poller();
    try {
      await proxies.redis.latency(3_000);
      const starts = await mapLimit(Array.from({ length: 6 }), 3, (_, i) =>
        timed(() => api('POST', '/runplaybook', { token: h.tokenA, body: startBody('net-diamond', 100 + i) })),
      );
      for (const r of starts) {
        expect(r.value.status).toBe(202);
        // Waiting on Redis would take 6 s (3 s each way): the command timeout (500 ms) answers first.
        expect(r.ms).toBeLessThan(5_000);
      }
      for (const s of starts)
        expect((await h.waitFinished((s.value.body as { peid: string }).peid, 60_000)).execution_status).toBe(
          'completed',
        );
    } finally {
      await proxies.redis.clear();
      await p.stop();
    }
  });
});

describe('MongoDB cut for a few seconds mid-load', () => {
  it('answers 202 or a clean 503, retries batches through redelivery, and leaves every run terminal and consistent', async () => {
    const p = poller();
    const statuses: number[] = [];
    const accepted: string[] = [];
    const refusedAlerts: string[] = [];
    try {
      const load = mapLimit(Array.from({ length: 40 }), 4, async (_, i) => {
        const name = i % 2 === 0 ? 'net-diamond' : 'net-any-join';
        const res = await timed(() => api('POST', '/runplaybook', { token: h.tokenA, body: startBody(name, 200 + i) }));
        statuses.push(res.value.status);
        // Bounded by server selection (3 s here) plus the compensation: never a hang.
        expect(res.ms).toBeLessThan(15_000);
        if (res.value.status === 202) accepted.push((res.value.body as { peid: string }).peid);
        else {
          refusedAlerts.push(startBody(name, 200 + i).alert_id);
          expect(res.value.status).toBe(503);
          expect(res.value.headers['retry-after']).toBeDefined();
          expectCleanError(res.value.body, 'SERVICE_UNAVAILABLE');
        }
        await sleep(100);
      });
      // Mid-load: once a quarter of the starts have answered (a fixed delay could fall after the
      // last of them on a quiet machine), the rest and the runs in flight meet the cut.
      while (statuses.length < 10) await sleep(20);
      // Longer than server selection (3 s here): some requests must give up.
      await cutFor(proxies.mongo, 5_000);
      await load;
      await settle(60_000);
    } finally {
      await p.stop();
    }
    const count = (s: number) => statuses.filter((x) => x === s).length;
    console.log(
      `[network] mongo cut 5 s: ${count(202)} accepted, ${count(503)} answered 503, ` +
        `${p.stats.handlerErrors} failed batches and ${p.stats.messagesFailed} failed messages retried by redelivery, ` +
        `${getMongoWatchdog()?.reopens ?? 0} MongoClient reopens after a stuck monitor`,
    );
    expect(count(202) + count(503)).toBe(40);
    // The cut was felt: requests refused, or batches (a failed intake) or messages (a failed commit
    // group, reported as batch item failures) left for redelivery.
    expect(count(503) + p.stats.handlerErrors + p.stats.messagesFailed).toBeGreaterThan(0);
    for (const peid of accepted) expect((await h.execution(peid)).execution_status, peid).toBe('completed');
    // A 503 means the run was not recorded: nothing of it is left, running or otherwise.
    const leftovers = await direct.db
      .collection('playbook_execution_collection')
      .find({ alert_id: { $in: refusedAlerts } }, { projection: { _id: 0, peid: 1, execution_status: 1 } })
      .toArray();
    expect(leftovers).toEqual([]);
    await expectNothingHalfWritten();
  }, 180_000);
});

describe('MongoDB down', () => {
  it('every route that needs it answers a clean 503 with Retry-After, never a 500', async () => {
    // Created while the database is up, never read: no cache can answer for it.
    await h.createPlaybook(shapePlaybook('retry_chain', h.stub.url, 'net-uncached'));
    const peid = await h.startRun('net-diamond', { score: 1 });
    await proxies.mongo.disable();
    try {
      const requests: Array<[string, string, Parameters<typeof api>[2]]> = [
        ['GET', '/playbooks/net-uncached-retry-chain', { token: h.tokenA }],
        ['GET', '/playbooks', { token: h.tokenA }],
        ['POST', '/playbooks', { token: h.tokenA, body: shapePlaybook('diamond', h.stub.url, 'net-new') }],
        ['POST', '/runplaybook', { token: h.tokenA, body: startBody('net-uncached-retry-chain', 1) }],
        ['GET', '/executions', { token: h.tokenA }],
        ['GET', `/executions/${peid}`, { token: h.tokenA }],
        ['POST', `/executions/${peid}/cancel`, { token: h.tokenA }],
      ];
      for (const [method, path, req] of requests) {
        const res = await timed(() => api(method, path, req));
        expect(res.value.status, `${method} ${path}: ${JSON.stringify(res.value.body)}`).toBe(503);
        expect(res.value.headers['retry-after'], `${method} ${path}`).toBeDefined();
        expectCleanError(res.value.body, 'SERVICE_UNAVAILABLE');
        expect(res.ms, `${method} ${path}`).toBeLessThan(20_000);
      }
    } finally {
      await proxies.mongo.enable();
    }
  });
});

describe('SQS unavailable', () => {
  it('at run start: a clear 503, and the run is marked failed (ENQUEUE_FAILED) instead of left running', async () => {
    const before = await direct.db.collection('playbook_execution_collection').countDocuments({});
    await proxies.sqs.disable();
    let res: Awaited<ReturnType<typeof api>>;
    try {
      const t = await timed(() =>
        api('POST', '/runplaybook', { token: h.tokenA, body: startBody('net-diamond', 300) }),
      );
      res = t.value;
      expect(t.ms).toBeLessThan(15_000);
    } finally {
      await proxies.sqs.enable();
    }
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expectCleanError(res.body, 'SERVICE_UNAVAILABLE');

    const created = await direct.db
      .collection('playbook_execution_collection')
      .find({}, { sort: { createddate: -1 }, limit: 1 })
      .toArray();
    expect(await direct.db.collection('playbook_execution_collection').countDocuments({})).toBe(before + 1);
    const { exec, tasks } = await storedRun(direct.db, created[0]?.peid as string);
    expect(exec?.execution_status).toBe('failed');
    expect(exec?.error?.code).toBe('ENQUEUE_FAILED');
    expect(tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(runProblems(exec, tasks)).toEqual([]);

    // The link is back: the next start works end to end.
    const p = poller();
    try {
      const again = await api('POST', '/runplaybook', { token: h.tokenA, body: startBody('net-diamond', 301) });
      expect(again.status).toBe(202);
      expect((await h.waitFinished((again.body as { peid: string }).peid, 60_000)).execution_status).toBe('completed');
    } finally {
      await p.stop();
    }
  });

  it('cut for 3 s while runs are in flight: sends that failed are retried by redelivery, every run completes', async () => {
    const p = poller();
    let peids: string[];
    try {
      peids = await mapLimit(Array.from({ length: 12 }), 4, (_, i) =>
        h.startRun(i % 2 === 0 ? 'net-diamond' : 'net-any-join', { score: i }),
      );
      await sleep(300);
      await cutFor(proxies.sqs, 3_000);
      await settle(60_000);
    } finally {
      await p.stop();
    }
    for (const peid of peids) expect((await h.execution(peid)).execution_status, peid).toBe('completed');
    await expectNothingHalfWritten();
  });
});
