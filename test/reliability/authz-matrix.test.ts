/**
 * The authorization matrix of every route in test/support/api.ts ROUTES (the deployed
 * API's routes, kept equal to serverless.yml by another test), through the real
 * authorizer: own tenant -> the route's success code; another tenant's resource -> 404
 * (exactly as an unknown id); no token -> 401; expired, without expiry, wrong signature, alg none,
 * missing or malformed tenant_code, tampered payload -> 403.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../lib/domain/webhook-signature.js';
import { mintToken } from '../../scripts/lib/token.js';
import { type ApiRequest, type ApiResponse, api, ROUTES, type Route } from '../support/api.js';
import { TEST_JWT_SECRET } from '../support/endpoints.js';
import { createHarness, type Harness } from '../support/harness.js';
import { type ApprovalRun, approvalRun } from '../support/waits.js';

let h: Harness;
/** Everything the functions logged during this file, at DEBUG level. */
const logged: string[] = [];
let stopCapture: () => void = () => undefined;
const ALERT_MARKER = `alert-marker-${Date.now()}`;
/** Every bearer token sent in this file. */
const usedTokens: string[] = [];
const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

/** Tokens that must never pass the authorizer. */
const BAD_TOKENS: Record<string, () => Promise<string>> = {
  expired: () =>
    new SignJWT({ tenant_code: 'tenant-a' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('analyst-a')
      .setIssuedAt(nowS() - 7200)
      .setExpirationTime(nowS() - 3600)
      .sign(secret),
  // Valid for ever once leaked: refused like an expired token.
  'no expiry (exp missing)': () =>
    new SignJWT({ tenant_code: 'tenant-a' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('analyst-a')
      .sign(secret),
  'wrong signature': () => mintToken('another-secret-of-enough-length-42', { tenant: 'tenant-a', sub: 'analyst-a' }),
  'alg none': async () =>
    `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ tenant_code: 'tenant-a', sub: 'analyst-a', exp: nowS() + 3600 })}.`,
  'missing tenant_code': () =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('analyst-a')
      .setExpirationTime('1h')
      .sign(secret),
  'tenant_code as an operator': () =>
    new SignJWT({ tenant_code: { $ne: null } })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('analyst-a')
      .setExpirationTime('1h')
      .sign(secret),
  'tenant_code with a path': () =>
    new SignJWT({ tenant_code: '../tenant-a' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('analyst-a')
      .setExpirationTime('1h')
      .sign(secret),
  'missing sub': () =>
    new SignJWT({ tenant_code: 'tenant-a' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setExpirationTime('1h')
      .sign(secret),
  'not yet valid (nbf)': () =>
    new SignJWT({ tenant_code: 'tenant-a' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('analyst-a')
      .setNotBefore(nowS() + 3600)
      .setExpirationTime(nowS() + 7200)
      .sign(secret),
  'HS512 (algorithm not allowed)': () =>
    new SignJWT({ tenant_code: 'tenant-a' })
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
      .setSubject('analyst-a')
      .setExpirationTime('1h')
      .sign(secret),
  'tampered payload (tenant switched, signature kept)': async () => {
    const [header, , sig] = (await mintToken(TEST_JWT_SECRET, { tenant: 'tenant-b', sub: 'analyst-b' })).split('.');
    return `${header}.${b64url({ tenant_code: 'tenant-a', sub: 'analyst-b', exp: nowS() + 3600 })}.${sig}`;
  },
  garbage: async () => 'not-a-jwt',
};

/** Per route: the request that succeeds for the owner, the expected success status, and the resource in it. */
interface Case {
  own: number;
  /** Builds the request for a token; `fresh` resources exist only for the owner's destructive calls. */
  request(token: string | undefined): Promise<{ path: string; req: ApiRequest }>;
  /** For collection routes: what another tenant must not see in its own answer. */
  isolation?: (res: ApiResponse) => void;
}

let peidRunning = '';
let peidFailed = '';
/** A completed run of tenant-a whose task is a containment (an http task with an undo). */
let peidContained = '';
let counter = 0;

const playbook = (name: string) => ({
  name,
  tasks: [{ id: 'a', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/authz` } }],
});

async function failedRun(): Promise<string> {
  const peid = await h.startRun('authz-fails');
  await h.waitFinished(peid, 30_000);
  return peid;
}

const CASES: Record<string, Case> = {
  'GET /health': { own: 200, request: async () => ({ path: '/health', req: {} }) },
  'POST /playbooks': {
    own: 201,
    request: async () => ({ path: '/playbooks', req: { body: playbook(`authz-new-${++counter}`) } }),
  },
  'GET /playbooks': {
    own: 200,
    request: async () => ({ path: '/playbooks', req: {} }),
    isolation: (res) => expect(JSON.stringify(res.body)).not.toContain('authz-pb'),
  },
  'GET /playbooks/{name}': { own: 200, request: async () => ({ path: '/playbooks/authz-pb', req: {} }) },
  'PUT /playbooks/{name}': {
    own: 200,
    request: async () => ({ path: '/playbooks/authz-pb', req: { body: playbook('authz-pb') } }),
  },
  'DELETE /playbooks/{name}': {
    own: 204,
    request: async () => {
      const name = `authz-del-${++counter}`;
      await h.createPlaybook(playbook(name));
      return { path: `/playbooks/${name}`, req: {} };
    },
  },
  'GET /playbooks/{name}/versions': {
    own: 200,
    request: async () => ({ path: '/playbooks/authz-pb/versions', req: {} }),
  },
  'GET /playbooks/{name}/versions/{version}': {
    own: 200,
    request: async () => ({ path: '/playbooks/authz-pb/versions/1', req: {} }),
  },
  'POST /playbooks/{name}/versions/{version}/restore': {
    own: 200,
    request: async () => ({ path: '/playbooks/authz-pb/versions/1/restore', req: {} }),
  },
  'GET /audit': {
    own: 200,
    request: async () => ({ path: '/audit', req: {} }),
    isolation: (res) => {
      expect(JSON.stringify(res.body)).not.toContain('authz-pb');
      expect(JSON.stringify(res.body)).not.toContain('analyst-a');
    },
  },
  'GET /analytics/top-playbooks': { own: 200, request: async () => ({ path: '/analytics/top-playbooks', req: {} }) },
  'POST /runplaybook': {
    own: 202,
    request: async () => ({
      path: '/runplaybook',
      req: { body: { playbook_name: 'authz-pb', alert_id: 'authz', alert: { user: ALERT_MARKER } } },
    }),
  },
  'GET /executions': {
    own: 200,
    request: async () => ({ path: '/executions', req: {} }),
    isolation: (res) => expect(JSON.stringify(res.body)).not.toContain(peidRunning),
  },
  'GET /executions/{peid}': { own: 200, request: async () => ({ path: `/executions/${peidRunning}`, req: {} }) },
  'GET /executions/{peid}/timeline': {
    own: 200,
    request: async () => ({ path: `/executions/${peidRunning}/timeline`, req: {} }),
  },
  'POST /executions/{peid}/redrive': {
    own: 202,
    request: async () => ({ path: `/executions/${peidFailed}/redrive`, req: {} }),
  },
  'POST /executions/{peid}/cancel': {
    own: 202,
    request: async () => ({ path: `/executions/${await h.startRun('authz-pb')}/cancel`, req: {} }),
  },
  'POST /executions/{peid}/rollback': {
    own: 202,
    // A run of its own (left running, no consumer): the rollback cancels it first.
    request: async () => ({ path: `/executions/${await h.startRun('authz-pb')}/rollback`, req: {} }),
  },
  'GET /containments': {
    own: 200,
    request: async () => ({ path: '/containments', req: {} }),
    isolation: (res) => expect(JSON.stringify(res.body)).not.toContain(peidContained),
  },
  'POST /playbooks/{name}/webhooks': {
    own: 201,
    request: async () => ({ path: '/playbooks/authz-pb/webhooks', req: { body: { alert_id: '{{ id }}' } } }),
  },
  'GET /playbooks/{name}/webhooks': {
    own: 200,
    request: async () => ({ path: '/playbooks/authz-pb/webhooks', req: {} }),
  },
  'DELETE /playbooks/{name}/webhooks/{hook_id}': {
    own: 204,
    request: async () => ({ path: `/playbooks/authz-pb/webhooks/${(await newHook()).hook_id}`, req: {} }),
  },
  'PUT /playbooks/{name}/schedule': {
    own: 200,
    request: async () => ({ path: '/playbooks/authz-pb/schedule', req: { body: { every_minutes: 60 } } }),
  },
  'GET /playbooks/{name}/schedule': {
    own: 200,
    request: async () => {
      await ownSchedule();
      return { path: '/playbooks/authz-pb/schedule', req: {} };
    },
  },
  'DELETE /playbooks/{name}/schedule': {
    own: 204,
    request: async () => {
      await ownSchedule();
      return { path: '/playbooks/authz-pb/schedule', req: {} };
    },
  },
  'GET /approvals': {
    own: 200,
    request: async () => {
      await newApproval();
      return { path: '/approvals', req: {} };
    },
    isolation: (res) => {
      for (const a of approvals) expect(JSON.stringify(res.body)).not.toContain(a.peid);
    },
  },
  'POST /executions/{peid}/tasks/{task_id}/respond': {
    own: 200,
    request: async () => {
      const a = await newApproval();
      return { path: `/executions/${a.peid}/tasks/${a.task_id}/respond`, req: { body: { choice: 'approve' } } };
    },
  },
  // No JWT: the approval's single-use callback token (never logged either).
  'GET /callbacks/{token}': {
    own: 200,
    request: async () => ({ path: `/callbacks/${(await newApproval()).token}`, req: {} }),
  },
  'POST /callbacks/{token}': {
    own: 200,
    request: async () => ({
      path: `/callbacks/${(await newApproval()).token}`,
      req: { body: { choice: 'reject', comment: ALERT_MARKER } },
    }),
  },
  // No JWT at all: a delivery signed with the hook's secret (which must never be logged either).
  'POST /hooks/{hook_id}': {
    own: 202,
    request: async () => {
      const hook = await newHook();
      const raw = JSON.stringify({ id: `d-${++counter}`, user: ALERT_MARKER });
      const ts = String(nowS());
      return {
        path: `/hooks/${hook.hook_id}`,
        req: {
          rawBody: raw,
          headers: {
            'x-playbook-timestamp': ts,
            'x-playbook-signature': signWebhook(hook.secret, ts, Buffer.from(raw)),
          },
        },
      };
    },
  },
};

/** Webhook secrets handed out in this file (checked against the logs). */
const hookSecrets: string[] = [];
/** Approvals waiting in tenant-a, with their callback tokens (checked against the logs). */
const approvals: ApprovalRun[] = [];

async function newApproval(): Promise<ApprovalRun> {
  const a = await approvalRun({ tenant_code: 'tenant-a' });
  approvals.push(a);
  return a;
}

async function newHook(): Promise<{ hook_id: string; secret: string }> {
  const res = await api('POST', '/playbooks/authz-pb/webhooks', { token: h.tokenA, body: {} });
  if (res.status !== 201) throw new Error(`create hook: ${res.status} ${JSON.stringify(res.body)}`);
  const hook = res.body as { hook_id: string; secret: string };
  hookSecrets.push(hook.secret);
  return hook;
}

async function ownSchedule(): Promise<void> {
  const res = await api('PUT', '/playbooks/authz-pb/schedule', { token: h.tokenA, body: { every_minutes: 60 } });
  if (res.status !== 200) throw new Error(`set schedule: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Logs at DEBUG for the rest of the file (the middleware would reset the level per invocation) and keeps them. */
async function captureLogs(): Promise<void> {
  const { logger } = await import('../../lib/observability.js');
  const refresh = logger.refreshSampleRateCalculation.bind(logger);
  logger.refreshSampleRateCalculation = () => undefined;
  logger.setLogLevel('DEBUG');
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    logged.push(String(chunk));
    return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  stopCapture = () => {
    process.stdout.write = write;
    logger.refreshSampleRateCalculation = refresh;
    logger.setLogLevel('SILENT');
  };
}

beforeAll(async () => {
  await captureLogs();
  h = await createHarness();
  await h.createPlaybook(playbook('authz-pb'));
  await h.createPlaybook({
    name: 'authz-fails',
    tasks: [{ id: 'a', type: 'http', config: { method: 'GET', url: `${h.stub.url}/status/404` } }],
  });
  await h.createPlaybook({
    name: 'authz-undo',
    tasks: [
      {
        id: 'block',
        type: 'http',
        config: { method: 'POST', url: `${h.stub.url}/ok/authz-block` },
        undo: { method: 'DELETE', url: `${h.stub.url}/ok/authz-unblock` },
      },
    ],
  });
  const p = h.poller().start();
  peidFailed = await failedRun();
  peidContained = await h.startRun('authz-undo');
  await h.waitFinished(peidContained, 30_000);
  await p.stop();
  // Left running (no consumer): cancel, read and timeline see a live run.
  peidRunning = await h.startRun('authz-pb');
});
afterAll(async () => {
  stopCapture();
  await h.close();
});

async function call(route: Route, token: string | undefined): Promise<ApiResponse> {
  const c = CASES[`${route.method} ${route.path}`] as Case;
  const { path, req } = await c.request(token);
  return api(route.method, path, { ...req, ...(token === undefined ? {} : { token }) });
}

describe('authorization matrix', () => {
  it('covers every route', () => {
    expect(ROUTES.map((r) => `${r.method} ${r.path}`).filter((k) => !(k in CASES))).toEqual([]);
  });

  const authRoutes = () => ROUTES.filter((r) => r.auth);

  it('own tenant: the route succeeds', async () => {
    for (const route of ROUTES) {
      const res = await call(route, h.tokenA);
      expect(res.status, `${route.method} ${route.path}: ${JSON.stringify(res.body)}`).toBe(
        CASES[`${route.method} ${route.path}`]?.own,
      );
    }
  });

  it("another tenant: 404 for the other tenant's resources (like unknown ids); lists and runs never show them", async () => {
    for (const route of authRoutes()) {
      const c = CASES[`${route.method} ${route.path}`] as Case;
      const res = await call(route, h.tokenB);
      const what = `${route.method} ${route.path}: ${JSON.stringify(res.body)}`;
      if (route.path.includes('{') || route.path === '/runplaybook') {
        // tenant-b has no playbook 'authz-pb' and no such run.
        expect(res.status, what).toBe(404);
        expect(res.body, what).toMatchObject({ error: { code: 'NOT_FOUND' } });
      } else {
        expect(res.status, what).toBe(c.own);
        c.isolation?.(res);
      }
    }
    // Nothing tenant-b did touched tenant-a's resources.
    expect((await h.execution(peidRunning)).execution_status).toBe('running');
    const contained = (await api('GET', `/executions/${peidContained}`, { token: h.tokenA })).body as {
      tasks: Array<{ undo?: { status: string } }>;
      rollback?: unknown;
    };
    expect(contained.tasks[0]?.undo?.status).toBe('active');
    expect(contained.rollback).toBeUndefined();
    expect((await api('GET', '/playbooks/authz-pb', { token: h.tokenA })).status).toBe(200);
  });

  it('no token: 401 on every authenticated route; the health check, signed webhook deliveries and callback tokens need none', async () => {
    for (const route of ROUTES) {
      const res = await call(route, undefined);
      expect(res.status, `${route.method} ${route.path}`).toBe(
        route.auth ? 401 : CASES[`${route.method} ${route.path}`]?.own,
      );
    }
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'bearer\ttoken with spaces']) {
      const res = await api('GET', '/executions', { headers: { authorization: header } });
      expect([401, 403], header).toContain(res.status);
    }
  });

  it.each(Object.keys(BAD_TOKENS))('%s: 403 on every authenticated route', async (kind) => {
    const token = await (BAD_TOKENS[kind] as () => Promise<string>)();
    usedTokens.push(token);
    for (const route of authRoutes()) {
      const res = await call(route, token);
      expect(res.status, `${kind} ${route.method} ${route.path}`).toBe(403);
    }
  });

  it('the logs (DEBUG) of all of the above never contain a token, the signing secret or an alert', async () => {
    const logs = logged.join('');
    expect(logs).toContain('token refused');
    expect(logs).toContain('"level":"DEBUG"');
    for (const t of [h.tokenA, h.tokenB, ...usedTokens]) {
      // A token's signature alone identifies it (headers and payloads repeat across tokens);
      // unsigned ones (alg none, garbage) are checked whole.
      const signature = t.split('.')[2];
      const needle = signature && signature.length > 0 ? signature : t;
      expect(logs.includes(needle), `token ${t.slice(0, 20)}... was logged`).toBe(false);
    }
    expect(logs.includes(TEST_JWT_SECRET)).toBe(false);
    expect(logs.includes(ALERT_MARKER)).toBe(false);
    expect(hookSecrets.length).toBeGreaterThan(2);
    for (const hookSecret of hookSecrets) expect(logs.includes(hookSecret), 'a webhook secret was logged').toBe(false);
    expect(approvals.length).toBeGreaterThan(4);
    for (const a of approvals) expect(logs.includes(a.token), 'a callback token was logged').toBe(false);
    expect(logs.includes(process.env.WEBHOOK_SIGNING_KEY as string)).toBe(false);
  });
});
