/**
 * Webhooks through the emulated API Gateway and the real handlers: creating hooks (secret shown
 * once), the signature matrix of POST /hooks/{hook_id} (every refusal the same 401), base64
 * bodies, delivery dedup, body mappings, a deleted hook, and the per-hook rate limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../lib/domain/webhook-signature.js';
import { type ApiResponse, api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';

// Each hook's budget in this file: a burst of 3 deliveries, then one every 20 s.
process.env.WEBHOOK_RATE_LIMIT_PER_MINUTE = '3';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  h.poller({ maxConcurrency: 4 }).start();
  await h.createPlaybook({
    name: 'from-siem',
    tasks: [{ id: 'echo', type: 'transform', config: { expression: 'alert' } }],
  });
});
afterAll(async () => h.close());

interface Created {
  hook_id: string;
  url: string;
  secret: string;
}

async function createHook(body?: unknown, name = 'from-siem', token = h.tokenA): Promise<Created> {
  const res = await api('POST', `/playbooks/${name}/webhooks`, { token, ...(body === undefined ? {} : { body }) });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Created;
}

const nowSeconds = () => String(Math.floor(Date.now() / 1000));

/** A delivery signed with `secret` (or with the headers given instead). */
async function deliver(
  hook: Pick<Created, 'hook_id' | 'secret'>,
  raw: string,
  opts: { ts?: string; sign?: string; headers?: Record<string, string>; omit?: string[]; base64?: boolean } = {},
): Promise<ApiResponse> {
  const ts = opts.ts ?? nowSeconds();
  const bytes = Buffer.from(raw, 'utf8');
  const headers: Record<string, string> = {
    'x-playbook-timestamp': ts,
    'x-playbook-signature': signWebhook(opts.sign ?? hook.secret, ts, bytes),
    ...opts.headers,
  };
  for (const k of opts.omit ?? []) delete headers[k];
  return api('POST', `/hooks/${hook.hook_id}`, {
    headers,
    ...(opts.base64 ? { base64Body: bytes } : { rawBody: raw }),
  });
}

async function runs(query: Record<string, string> = {}): Promise<Array<Record<string, unknown>>> {
  const res = await api('GET', '/executions', { token: h.tokenA, query: { limit: '100', ...query } });
  expect(res.status).toBe(200);
  return (res.body as { items: Array<Record<string, unknown>> }).items;
}

describe('managing webhooks', () => {
  it('creates a hook whose secret is shown once, lists it without the secret, refuses bad mappings', async () => {
    const hook = await createHook({ alert_id: '{{ id }}' });
    expect(hook.hook_id).toMatch(/^wh_[A-Za-z0-9_-]{22}$/);
    expect(hook.url).toBe(`/hooks/${hook.hook_id}`);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const list = await api('GET', '/playbooks/from-siem/webhooks', { token: h.tokenA });
    expect(list.status).toBe(200);
    const item = (list.body as { items: Array<Record<string, unknown>> }).items.find((i) => i.hook_id === hook.hook_id);
    expect(item).toMatchObject({ hook_id: hook.hook_id, url: hook.url, alert_id: '{{ id }}' });
    expect(typeof item?.created_at).toBe('number');
    expect(JSON.stringify(list.body)).not.toContain(hook.secret);

    const bad: Array<[unknown, string]> = [
      [{ alert: '{{ ( }}' }, 'alert'],
      [{ alert: 'not a template' }, 'alert'],
      [{ alert_id: 'x-{{ a + }}' }, 'alert_id'],
      [{ alert_id: 'x', secret: 'mine' }, 'secret'],
    ];
    for (const [body, path] of bad) {
      const res = await api('POST', '/playbooks/from-siem/webhooks', { token: h.tokenA, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      // An unknown field is named in the message of the body's issue.
      expect(JSON.stringify((res.body as { error: { details: unknown } }).error.details)).toContain(path);
    }
    const unknown = await api('POST', '/playbooks/nope/webhooks', { token: h.tokenA });
    expect(unknown.status).toBe(404);
  });

  it("another tenant cannot list, create on or delete the tenant's hooks", async () => {
    const hook = await createHook();
    expect((await api('GET', '/playbooks/from-siem/webhooks', { token: h.tokenB })).status).toBe(404);
    expect((await api('POST', '/playbooks/from-siem/webhooks', { token: h.tokenB })).status).toBe(404);
    const del = await api('DELETE', `/playbooks/from-siem/webhooks/${hook.hook_id}`, { token: h.tokenB });
    expect(del.status).toBe(404);
    expect((await deliver(hook, '{"still":"here"}')).status).toBe(202);
  });
});

describe('POST /hooks/{hook_id}: the signature', () => {
  it('accepts a signed delivery and starts a run of the playbook with trigger webhook', async () => {
    const hook = await createHook();
    const res = await deliver(hook, '{"src_ip":"203.0.113.5"}');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const { peid } = res.body as { peid: string };
    const e = (await h.waitFinished(peid)) as unknown as Record<string, unknown> & {
      tasks: Array<{ output: unknown }>;
    };
    expect(e.execution_status).toBe('completed');
    expect(e.trigger).toEqual({ type: 'webhook', hook_id: hook.hook_id });
    expect(e.mode).toBe('live');
    expect(e.uid).toBe(`webhook:${hook.hook_id}`);
    expect(e.tasks[0]?.output).toEqual({ src_ip: '203.0.113.5' });
  });

  it('refuses every forgery with the same 401 and starts nothing', async () => {
    const hook = await createHook();
    const other = await createHook();
    const before = (await runs()).length;
    const body = '{"src_ip":"198.51.100.1"}';
    const ts = nowSeconds();
    const valid = signWebhook(hook.secret, ts, Buffer.from(body));
    const cases: Array<[string, () => Promise<ApiResponse>]> = [
      ['wrong secret', () => deliver(hook, body, { sign: other.secret })],
      [
        'altered body',
        () =>
          deliver(hook, body, {
            headers: {
              'x-playbook-signature': signWebhook(hook.secret, ts, Buffer.from('{"src_ip":"198.51.100.2"}')),
              'x-playbook-timestamp': ts,
            },
          }),
      ],
      [
        'altered timestamp',
        () =>
          deliver(hook, body, {
            headers: { 'x-playbook-signature': valid, 'x-playbook-timestamp': String(Number(ts) - 1) },
          }),
      ],
      ['missing signature', () => deliver(hook, body, { omit: ['x-playbook-signature'] })],
      ['missing timestamp', () => deliver(hook, body, { omit: ['x-playbook-timestamp'] })],
      ['301 s old', () => deliver(hook, body, { ts: String(Math.floor(Date.now() / 1000) - 301) })],
      ['301 s ahead', () => deliver(hook, body, { ts: String(Math.floor(Date.now() / 1000) + 302) })],
      ['timestamp not a number', () => deliver(hook, body, { ts: '17e8' })],
      ['signature not sha256=hex', () => deliver(hook, body, { headers: { 'x-playbook-signature': valid.slice(7) } })],
      ['unknown hook', () => deliver({ hook_id: 'wh_AAAAAAAAAAAAAAAAAAAAAA', secret: hook.secret }, body)],
      ['malformed hook id', () => deliver({ hook_id: 'nope', secret: hook.secret }, body)],
    ];
    const answers = new Set<string>();
    for (const [what, send] of cases) {
      const res = await send();
      expect(res.status, what).toBe(401);
      answers.add(JSON.stringify(res.body));
    }
    expect([...answers]).toEqual([
      JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'invalid webhook request' } }),
    ]);
    expect((await runs()).length).toBe(before);
  });

  it('accepts a timestamp 250 s old and uppercase hex', async () => {
    const hook = await createHook();
    const ts = String(Math.floor(Date.now() / 1000) - 250);
    const sig = signWebhook(hook.secret, ts, Buffer.from('{"a":1}'));
    const res = await deliver(hook, '{"a":1}', {
      headers: { 'x-playbook-timestamp': ts, 'x-playbook-signature': `sha256=${sig.slice(7).toUpperCase()}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  });

  it('verifies a base64-encoded body on its decoded bytes (not UTF-8 text)', async () => {
    const hook = await createHook();
    const raw = '{"note":"caf\u00e9 \u2603","n":1}';
    const res = await deliver(hook, raw, { base64: true });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const e = (await h.waitFinished((res.body as { peid: string }).peid)) as unknown as {
      tasks: Array<{ output: unknown }>;
    };
    expect(e.tasks[0]?.output).toEqual({ note: 'caf\u00e9 \u2603', n: 1 });
    // Signed over the base64 text instead of the bytes: refused.
    const ts = nowSeconds();
    const wrong = signWebhook(hook.secret, ts, Buffer.from(Buffer.from(raw).toString('base64')));
    const refused = await deliver(hook, raw, {
      base64: true,
      headers: { 'x-playbook-timestamp': ts, 'x-playbook-signature': wrong },
    });
    expect(refused.status).toBe(401);
  });

  it('a replayed delivery id (or a replayed request) answers the first run; a reused id with another body is 409', async () => {
    const hook = await createHook();
    const first = await deliver(hook, '{"n":1}', { headers: { 'x-playbook-delivery': 'evt-0001' } });
    expect(first.status).toBe(202);
    const again = await deliver(hook, '{"n":1}', { headers: { 'x-playbook-delivery': 'evt-0001' } });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    const otherBody = await deliver(hook, '{"n":2}', { headers: { 'x-playbook-delivery': 'evt-0001' } });
    expect(otherBody.status).toBe(409);
    // Without a delivery id, the same signed request sent twice is one delivery.
    const hook2 = await createHook();
    const ts = nowSeconds();
    const once = await deliver(hook2, '{"n":3}', { ts });
    const replay = await deliver(hook2, '{"n":3}', { ts });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(once.body);
    const byHook = (await runs({ trigger: 'webhook' })).filter(
      (r) => (r.trigger as { hook_id?: string }).hook_id === hook.hook_id,
    );
    expect(byHook).toHaveLength(1);
    const badId = await deliver(hook2, '{"n":4}', { headers: { 'x-playbook-delivery': 'bad id with spaces' } });
    expect(badId.status).toBe(400);
    expect(JSON.stringify(badId.body)).toContain('X-Playbook-Delivery');
  });

  it('a deleted hook answers exactly like an unknown one', async () => {
    const hook = await createHook();
    expect((await deliver(hook, '{}')).status).toBe(202);
    const del = await api('DELETE', `/playbooks/from-siem/webhooks/${hook.hook_id}`, { token: h.tokenA });
    expect(del.status).toBe(204);
    const res = await deliver(hook, '{}');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'invalid webhook request' } });
    expect((await api('DELETE', `/playbooks/from-siem/webhooks/${hook.hook_id}`, { token: h.tokenA })).status).toBe(
      404,
    );
  });
});

describe('POST /hooks/{hook_id}: the body', () => {
  it('maps the body to alert and alert_id with JSONata', async () => {
    const hook = await createHook({
      alert_id: 'edr-{{ detail.id }}',
      alert: '{{ {"ip": detail.src, "sev": severity} }}',
    });
    const res = await deliver(hook, '{"detail":{"id":"A7","src":"203.0.113.9"},"severity":4}');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const e = (await h.waitFinished((res.body as { peid: string }).peid)) as unknown as {
      alert_id: string;
      tasks: Array<{ output: unknown }>;
    };
    expect(e.alert_id).toBe('edr-A7');
    expect(e.tasks[0]?.output).toEqual({ ip: '203.0.113.9', sev: 4 });
  });

  it('a non-JSON body is 400, a body the mappings cannot use is 400 naming the field, over 256 KiB is 413', async () => {
    const plain = await createHook();
    const notJson = await deliver(plain, 'not json');
    expect(notJson.status).toBe(400);
    expect(JSON.stringify(notJson.body)).toContain('(body)');
    const array = await deliver(plain, '[1,2]');
    expect(array.status).toBe(400);
    const mapped = await createHook({ alert: '{{ detail }}', alert_id: '{{ detail.id }}' });
    const noObject = await deliver(mapped, '{"detail":"text"}');
    expect(noObject.status).toBe(400);
    expect((noObject.body as { error: { details: Array<{ path: string }> } }).error.details[0]?.path).toBe('alert');
    const noId = await deliver(mapped, '{"detail":{"x":1}}');
    expect(noId.status).toBe(400);
    expect((noId.body as { error: { details: Array<{ path: string }> } }).error.details[0]?.path).toBe('alert_id');
    const big = await deliver(await createHook(), JSON.stringify({ pad: 'x'.repeat(256 * 1024) }));
    expect(big.status).toBe(413);
  });

  it('a body nested deeper than 64 levels is 400 naming where, and starts nothing', async () => {
    const plain = await createHook();
    const deep = `{"detail":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    const res = await deliver(plain, deep);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    const details = (res.body as { error: { code: string; details: Array<{ path: string }> } }).error;
    expect(details.code).toBe('VALIDATION_FAILED');
    expect(details.details[0]?.path).toMatch(/^\(body\)\.detail/);
    const started = await runs({ trigger: 'webhook' });
    expect(started.filter((r) => (r.trigger as { hook_id?: string }).hook_id === plain.hook_id)).toEqual([]);
  });
});

describe('POST /hooks/{hook_id}: the rate limit', () => {
  it('answers 429 with Retry-After past the hook budget; other hooks are not affected', async () => {
    const hook = await createHook();
    const statuses: number[] = [];
    let limited: ApiResponse | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await deliver(hook, `{"i":${i}}`);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([202, 202, 202, 429]);
    expect(limited?.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited?.headers['retry-after'])).toBeLessThanOrEqual(20);
    // Unsigned requests do not spend a hook's budget, and another hook has its own.
    const fresh = await createHook();
    for (let i = 0; i < 5; i++) expect((await deliver(fresh, '{}', { sign: hook.secret })).status).toBe(401);
    expect((await deliver(fresh, '{"ok":1}')).status).toBe(202);
  });
});
