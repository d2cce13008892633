/** The run routes through the emulated API Gateway: auth, tenants, bad input, cancel, idempotency. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  await h.createPlaybook({
    name: 'enrich',
    tasks: [{ id: 'lookup', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/enrich` } }],
  });
  await h.createPlaybook({ name: 'disabled', status: 'inactive', tasks: [{ id: 'a', type: 'noop' }] });
  await h.createPlaybook({
    name: 'slow',
    tasks: [
      { id: 'wait', type: 'http', config: { method: 'GET', url: `${h.stub.url}/delay/800` } },
      {
        id: 'next',
        type: 'http',
        depends_on: ['wait'],
        config: { method: 'GET', url: `${h.stub.url}/ok/after-cancel` },
      },
      { id: 'later', type: 'delay', config: { seconds: 60 } },
    ],
  });
});
afterAll(async () => h.close());

async function runCount(token = h.tokenA): Promise<number> {
  const res = await api('GET', '/executions', { token, query: { limit: '100' } });
  expect(res.status).toBe(200);
  return (res.body as { items: unknown[] }).items.length;
}

describe('POST /runplaybook', () => {
  it('answers 202 with a peid and a running status', async () => {
    const res = await api('POST', '/runplaybook', {
      token: h.tokenA,
      body: { playbook_name: 'enrich', alert_id: 'a-1', alert: { src_ip: '203.0.113.9' } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ execution_status: 'running', peid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it('refuses bad input with the field named and stores nothing', async () => {
    const before = await runCount();
    const cases: Array<{ req: Parameters<typeof api>[2]; status: number; code: string; path?: string }> = [
      {
        req: { token: h.tokenA, rawBody: '{"playbook_name": ' },
        status: 400,
        code: 'VALIDATION_FAILED',
        path: '(body)',
      },
      { req: { token: h.tokenA, rawBody: '' }, status: 400, code: 'VALIDATION_FAILED', path: '(body)' },
      {
        req: { token: h.tokenA, body: { alert_id: 'x' } },
        status: 400,
        code: 'VALIDATION_FAILED',
        path: 'playbook_name',
      },
      {
        req: { token: h.tokenA, body: { playbook_name: 'enrich', alert_id: 42 } },
        status: 400,
        code: 'VALIDATION_FAILED',
        path: 'alert_id',
      },
      {
        req: { token: h.tokenA, body: { playbook_name: { $ne: null }, alert_id: 'x' } },
        status: 400,
        code: 'VALIDATION_FAILED',
        path: 'playbook_name',
      },
      {
        req: { token: h.tokenA, body: { playbook_name: 'enrich', alert_id: 'x', alert: [1, 2] } },
        status: 400,
        code: 'VALIDATION_FAILED',
        path: 'alert',
      },
      {
        req: { token: h.tokenA, body: { playbook_name: 'enrich', alert_id: 'x', extra: true } },
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      { req: { token: h.tokenA, body: [] }, status: 400, code: 'VALIDATION_FAILED', path: '(root)' },
      { req: { token: h.tokenA, body: { playbook_name: 'nope', alert_id: 'x' } }, status: 404, code: 'NOT_FOUND' },
      {
        req: { token: h.tokenA, body: { playbook_name: 'disabled', alert_id: 'x' } },
        status: 422,
        code: 'UNPROCESSABLE',
        path: 'playbook_name',
      },
      {
        req: {
          token: h.tokenA,
          body: { playbook_name: 'enrich', alert_id: 'x', alert: { blob: 'x'.repeat(300 * 1024) } },
        },
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
      {
        req: {
          token: h.tokenA,
          body: { playbook_name: 'enrich', alert_id: 'x' },
          headers: { 'Idempotency-Key': 'bad key with spaces' },
        },
        status: 400,
        code: 'VALIDATION_FAILED',
        path: 'Idempotency-Key',
      },
    ];
    for (const c of cases) {
      const res = await api('POST', '/runplaybook', c.req);
      expect(res.status, JSON.stringify(res.body)).toBe(c.status);
      const err = (res.body as { error: { code: string; details?: Array<{ path: string }> } }).error;
      expect(err.code).toBe(c.code);
      if (c.path) expect(err.details?.map((d) => d.path)).toContain(c.path);
    }
    expect(await runCount()).toBe(before);
  });

  it('needs a valid token: 401 without, 403 for a bad or expired one', async () => {
    const body = { playbook_name: 'enrich', alert_id: 'x' };
    expect((await api('POST', '/runplaybook', { body })).status).toBe(401);
    expect((await api('POST', '/runplaybook', { body, token: 'not-a-jwt' })).status).toBe(403);
    const [head, payload] = h.tokenA.split('.');
    expect((await api('POST', '/runplaybook', { body, token: `${head}.${payload}.AAAA` })).status).toBe(403);
    const { mintToken } = await import('../../scripts/lib/token.js');
    const expired = await mintToken(process.env.AUTH_JWT_SECRET ?? '', {
      tenant: 'tenant-a',
      sub: 'x',
      expiresIn: '-1m',
    });
    expect((await api('POST', '/runplaybook', { body, token: expired })).status).toBe(403);
  });

  it('with the same Idempotency-Key and body returns the first answer and starts one run', async () => {
    const before = await runCount();
    const req = {
      token: h.tokenA,
      body: { playbook_name: 'enrich', alert_id: 'idem-1', alert: { n: 1 } },
      headers: { 'Idempotency-Key': `key-${Date.now()}` },
    };
    const first = await api('POST', '/runplaybook', req);
    const second = await api('POST', '/runplaybook', req);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(await runCount()).toBe(before + 1);
    const other = await api('POST', '/runplaybook', { ...req, body: { ...req.body, alert: { n: 2 } } });
    expect(other.status).toBe(409);
    expect(await runCount()).toBe(before + 1);
    // The key is scoped to the tenant: another tenant's same key is a different request.
    await h.createPlaybook({ name: 'enrich', tasks: [{ id: 'x', type: 'noop' }] }, h.tokenB);
    expect((await api('POST', '/runplaybook', { ...req, token: h.tokenB })).status).toBe(202);
  });
});

describe('tenant isolation', () => {
  it("tenant B gets 404 for tenant A's run and playbook, and lists none of A's runs", async () => {
    const peid = await h.startRun('enrich');
    expect((await api('GET', `/executions/${peid}`, { token: h.tokenA })).status).toBe(200);
    expect((await api('GET', `/executions/${peid}`, { token: h.tokenB })).status).toBe(404);
    expect((await api('POST', `/executions/${peid}/cancel`, { token: h.tokenB })).status).toBe(404);
    expect((await api('GET', '/playbooks/slow', { token: h.tokenB })).status).toBe(404);
    expect(
      (await api('POST', '/runplaybook', { token: h.tokenB, body: { playbook_name: 'slow', alert_id: 'x' } })).status,
    ).toBe(404);
    const listB = await api('GET', '/executions', { token: h.tokenB });
    const peidsB = (listB.body as { items: Array<{ peid: string; tenant_code: string }> }).items;
    expect(peidsB.every((e) => e.tenant_code === 'tenant-b')).toBe(true);
    expect(peidsB.map((e) => e.peid)).not.toContain(peid);
  });
});

describe('GET /executions', () => {
  it('pages newest first with a cursor and filters by status', async () => {
    const page1 = await api('GET', '/executions', { token: h.tokenA, query: { limit: '2' } });
    const b1 = page1.body as { items: Array<{ peid: string; createddate: number }>; next: string | null };
    expect(b1.items).toHaveLength(2);
    expect(b1.next).not.toBeNull();
    const page2 = await api('GET', '/executions', { token: h.tokenA, query: { limit: '2', before: b1.next ?? '' } });
    const b2 = page2.body as { items: Array<{ peid: string; createddate: number }> };
    expect(b2.items.length).toBeGreaterThan(0);
    const all = [...b1.items, ...b2.items];
    expect(new Set(all.map((e) => e.peid)).size).toBe(all.length);
    for (let i = 1; i < all.length; i++)
      expect((all[i - 1]?.createddate ?? 0) >= (all[i]?.createddate ?? 0)).toBe(true);
    const running = await api('GET', '/executions', { token: h.tokenA, query: { status: 'running' } });
    expect(
      (running.body as { items: Array<{ execution_status: string }> }).items.every(
        (e) => e.execution_status === 'running',
      ),
    ).toBe(true);
    const badQueries: Array<Record<string, string>> = [
      { limit: '0' },
      { limit: 'abc' },
      { status: 'bogus' },
      { before: 'garbage' },
      { sort: 'x' },
    ];
    for (const query of badQueries) {
      const res = await api('GET', '/executions', { token: h.tokenA, query });
      expect(res.status, JSON.stringify(query)).toBe(400);
    }
    expect((await api('GET', '/executions/not-a-uuid', { token: h.tokenA })).status).toBe(400);
    expect((await api('GET', `/executions/${crypto.randomUUID()}`, { token: h.tokenA })).status).toBe(404);
  });
});

describe('POST /executions/{peid}/cancel', () => {
  it('cancels mid-run: queued and pending tasks become cancelled, nothing new starts', async () => {
    const poller = h.poller({ maxConcurrency: 2 }).start();
    const peid = await h.startRun('slow');
    await poller.until(
      async () => (h.stub.callsTo('/delay/800').length > 0 ? true : undefined),
      10_000,
      'the slow task to start',
    );
    const res = await api('POST', `/executions/${peid}/cancel`, { token: h.tokenA });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ peid, execution_status: 'cancelled' });
    // Let the in-flight task finish and any queued message be consumed.
    await new Promise((r) => setTimeout(r, 1500));
    await poller.stop();
    const e = await h.execution(peid);
    expect(e.execution_status).toBe('cancelled');
    const byId = Object.fromEntries(e.tasks.map((t) => [t.task_id, t.status]));
    expect(byId.next).toBe('cancelled');
    expect(byId.later).toBe('cancelled');
    expect(h.stub.callsTo('/ok/after-cancel')).toHaveLength(0);
    expect((await api('POST', `/executions/${peid}/cancel`, { token: h.tokenA })).status).toBe(202);
  });

  it('refuses to cancel a finished run with 409', async () => {
    const poller = h.poller().start();
    const peid = await h.startRun('enrich');
    await h.waitFinished(peid);
    await poller.stop();
    expect((await api('POST', `/executions/${peid}/cancel`, { token: h.tokenA })).status).toBe(409);
  });
});
