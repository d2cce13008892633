/**
 * Top-playbooks analytics: the scheduled function over seeded executions, then
 * GET /analytics/top-playbooks per tenant (Redis first, MongoDB when Redis cannot answer).
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { getDb, getRedis } from '../../lib/clients.js';
import type { ExecutionRecord } from '../../lib/engine/model.js';
import { mintToken } from '../../scripts/lib/token.js';
import { api } from '../support/api.js';
import { TEST_JWT_SECRET } from '../support/endpoints.js';
import { lambdaContext } from '../support/lambda-context.js';

const DAY = 86_400_000;
const now = Date.now();
const tokens: Record<string, string> = {};
const pids: Record<string, string> = {};

function execution(
  tenant: string,
  name: string,
  runtime: number,
  extra: Partial<ExecutionRecord> = {},
): ExecutionRecord & { _id: string } {
  const key = `${tenant}/${name}`;
  pids[key] ??= randomUUID();
  const peid = randomUUID();
  const createddate = extra.createddate ?? now - 60_000;
  return {
    _id: peid,
    peid,
    tenant_code: tenant,
    pid: pids[key],
    playbook_name: name,
    playbook_version: 1,
    alert_id: 'alert',
    uid: 'analyst',
    alert_json: '{}',
    execution_status: 'completed',
    createddate,
    updateddate: createddate + runtime,
    completeddate: createddate + runtime,
    playbook_runtime: runtime,
    open_tasks: [],
    tasks_total: 1,
    error: null,
    ...extra,
  };
}

const scheduledEvent: ScheduledEvent = {
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:000000000000:rule/playbook-service-local-topPlaybooks'],
  detail: {},
};

async function runSchedule(): Promise<{ tenants: number; generated_at: number }> {
  const { handler } = await import('../../functions/top-playbooks.js');
  return handler(scheduledEvent, lambdaContext('topPlaybooks'));
}

interface TopBody {
  generated_at: number | null;
  window_days: number;
  items: Array<{ pid: string; name: string; average: number; count: number }>;
}

async function top(tenant: string): Promise<TopBody> {
  const res = await api('GET', '/analytics/top-playbooks', { token: tokens[tenant] ?? '' });
  expect(res.status).toBe(200);
  return res.body as TopBody;
}

const keyPrefix = `${process.env.MONGO_DB}:`;

beforeAll(async () => {
  for (const t of ['tenant-a', 'tenant-b', 'tenant-c']) {
    tokens[t] = await mintToken(TEST_JWT_SECRET, { tenant: t, sub: `analyst-${t}` });
  }
  const a = (name: string, runtimes: number[]) => runtimes.map((r) => execution('tenant-a', name, r));
  await getDb()
    .collection<ExecutionRecord & { _id: string }>(COLLECTIONS.executions)
    .insertMany([
      ...a('alpha', [100, 300]),
      ...a('bravo', [1000]),
      ...a('charlie', [500, 700, 900]),
      ...a('delta', [50]),
      ...a('echo', [400, 400]),
      ...a('foxtrot', [800]),
      ...a('golf', [10]),
      // Excluded: not completed, or outside the 30-day window.
      execution('tenant-a', 'bravo', 99_999, { execution_status: 'failed' }),
      execution('tenant-a', 'bravo', 99_999, { execution_status: 'cancelled' }),
      execution('tenant-a', 'delta', 0, {
        execution_status: 'running',
        completeddate: null,
        playbook_runtime: null,
      }),
      execution('tenant-a', 'delta', 100_000, { createddate: now - 31 * DAY }),
      execution('tenant-a', 'hotel', 5_000, { createddate: now - 40 * DAY }),
      // Excluded: test runs (mocked tasks say nothing of a playbook's real runtime).
      execution('tenant-a', 'bravo', 99_999, { mode: 'test' }),
      execution('tenant-a', 'india', 90_000, { mode: 'test' }),
      // Another tenant, with a playbook of the same name.
      execution('tenant-b', 'bravo', 5),
      execution('tenant-b', 'bravo', 7),
    ]);
});
afterAll(async () => {
  const redis = getRedis();
  await redis.del(`${keyPrefix}top:{tenant-a}`, `${keyPrefix}top:{tenant-b}`, `${keyPrefix}top:#last-run`);
});

describe('GET /analytics/top-playbooks', () => {
  it('before any computation: an empty report with generated_at null', async () => {
    expect(await top('tenant-a')).toEqual({ generated_at: null, window_days: 30, items: [] });
  });

  it('needs a token', async () => {
    expect((await api('GET', '/analytics/top-playbooks')).status).toBe(401);
  });
});

describe('the scheduled topPlaybooks function', () => {
  let generatedAt = 0;

  beforeAll(async () => {
    const result = await runSchedule();
    expect(result.tenants).toBe(2);
    generatedAt = result.generated_at;
  });

  it('stores exactly the top 5 by average runtime of completed runs in the window', async () => {
    const body = await top('tenant-a');
    expect(body.generated_at).toBe(generatedAt);
    expect(body.window_days).toBe(30);
    expect(body.items).toEqual([
      { pid: pids['tenant-a/bravo'], name: 'bravo', average: 1000, count: 1 },
      { pid: pids['tenant-a/foxtrot'], name: 'foxtrot', average: 800, count: 1 },
      { pid: pids['tenant-a/charlie'], name: 'charlie', average: 700, count: 3 },
      { pid: pids['tenant-a/echo'], name: 'echo', average: 400, count: 2 },
      { pid: pids['tenant-a/alpha'], name: 'alpha', average: 200, count: 2 },
    ]);
  });

  it('never shows a tenant another tenant’s playbooks', async () => {
    expect((await top('tenant-b')).items).toEqual([
      { pid: pids['tenant-b/bravo'], name: 'bravo', average: 6, count: 2 },
    ]);
  });

  it('a tenant without runs gets an empty report as of the last computation', async () => {
    expect(await top('tenant-c')).toEqual({ generated_at: generatedAt, window_days: 30, items: [] });
  });

  it('keeps the result in MongoDB, one document per tenant', async () => {
    const doc = await getDb()
      .collection(COLLECTIONS.topPlaybooks)
      .findOne({ _id: 'tenant-b' as never });
    expect(doc).toMatchObject({ generated_at: generatedAt, window_days: 30, items: [{ name: 'bravo', count: 2 }] });
  });

  it('answers from MongoDB when Redis has nothing', async () => {
    const fromRedis = await top('tenant-a');
    const redis = getRedis();
    expect(await redis.exists(`${keyPrefix}top:{tenant-a}`)).toBe(1);
    await redis.del(`${keyPrefix}top:{tenant-a}`, `${keyPrefix}top:#last-run`);
    expect(await top('tenant-a')).toEqual(fromRedis);
    expect(await top('tenant-c')).toEqual({ generated_at: generatedAt, window_days: 30, items: [] });
  });

  it('a tenant whose runs left the window gets an empty report on the next run', async () => {
    await getDb().collection(COLLECTIONS.executions).deleteMany({ tenant_code: 'tenant-b' });
    await new Promise((r) => setTimeout(r, 5));
    const second = await runSchedule();
    expect(second.tenants).toBe(1);
    // Redis still holds tenant-b's old report: the newer run marker says it is stale.
    expect(await getRedis().exists(`${keyPrefix}top:{tenant-b}`)).toBe(1);
    expect(await top('tenant-b')).toEqual({ generated_at: second.generated_at, window_days: 30, items: [] });
    await getRedis().del(`${keyPrefix}top:#last-run`);
    expect(await top('tenant-b')).toEqual({ generated_at: second.generated_at, window_days: 30, items: [] });
    expect((await top('tenant-a')).items).toHaveLength(5);
  });
});
