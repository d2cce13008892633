/**
 * `npm start` as a developer uses it: boots the whole local service (stack, stub, serverless
 * offline with the real bundles, the authorizer and the SQS consumer), then drives it over HTTP
 * only: create a playbook that calls the local stub, run it, poll the run to completion, check
 * the contract's error answers, and finally Ctrl-C (SIGINT to the start script), which must stop
 * everything it started and free ports 3000, 3002 and 3010.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../scripts/lib/token.js';
import {
  API,
  alive,
  BOOT_TIMEOUT_MS,
  call,
  LAMBDA,
  NpmStart,
  PORTS,
  portOpen,
  type Reply,
  ROOT,
  SECRET,
  STUB,
  sleep,
} from './support/npm-start.js';

let npm: NpmStart;

const payload = (name: string) => JSON.parse(readFileSync(path.join(ROOT, 'events', 'payloads', name), 'utf8'));
const errorBody = (code: string) => ({ error: expect.objectContaining({ code, message: expect.any(String) }) });

// A tenant of this run's own: the local database outlives the test.
const tenant = `e2e-${Date.now().toString(36)}`;
let token: string;
let peid: string;

describe('npm start (serverless offline, stage local)', () => {
  beforeAll(async () => {
    npm = await NpmStart.boot();
    token = await mintToken(SECRET, { tenant, sub: 'e2e-analyst' });
  }, BOOT_TIMEOUT_MS + 30_000);

  // Safety net when a test failed before the Ctrl-C test.
  afterAll(() => npm?.kill(), 60_000);

  it('GET /health answers without a token', async () => {
    const res = await call('GET', '/health');
    expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(res.contentType).toContain('application/json');
  });

  it('runs a playbook that calls the local stub to completion, over HTTP only', async () => {
    const created = await call('POST', '/playbooks', { token, body: payload('playbook.json') });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'enrich-and-block', version: 1, tenant_code: tenant });

    const started = await call('POST', '/runplaybook', { token, body: payload('run.json') });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ execution_status: 'running' });
    peid = (started.body as { peid: string }).peid;

    let run: Reply | undefined;
    const deadline = Date.now() + 90_000;
    for (;;) {
      run = await call('GET', `/executions/${peid}`, { token });
      expect(run.status).toBe(200);
      if ((run.body as { execution_status: string }).execution_status !== 'running') break;
      if (Date.now() > deadline) {
        throw new Error(
          `run still running: ${JSON.stringify(run.body)}\n--- npm start ---\n${npm.output.slice(-4000)}`,
        );
      }
      await sleep(300);
    }
    const view = run.body as {
      execution_status: string;
      uid: string;
      tenant_code: string;
      createddate: number;
      completeddate: number;
      playbook_runtime: number;
      tasks: Array<{ task_id: string; status: string; output: unknown }>;
    };
    expect(view).toMatchObject({ execution_status: 'completed', uid: 'e2e-analyst', tenant_code: tenant });
    expect(view.playbook_runtime).toBe(view.completeddate - view.createddate);
    const byId = Object.fromEntries(view.tasks.map((t) => [t.task_id, t]));
    expect(byId.lookup).toMatchObject({
      status: 'succeeded',
      output: { status: 200, body: { ip: '203.0.113.7', score: 95, verdict: 'malicious' } },
    });
    expect(byId.score).toMatchObject({ status: 'succeeded', output: 95 });
    expect(byId.block).toMatchObject({ status: 'succeeded', output: { status: 200, body: { blocked: true } } });
    expect(byId.close).toMatchObject({ status: 'succeeded' });

    // The stub saw the block, with the templated body.
    const calls = (await (await fetch(`${STUB}/calls`)).json()) as { calls: Array<{ path: string; body: unknown }> };
    expect(calls.calls).toContainEqual(
      expect.objectContaining({ path: '/firewall/block', body: { ip: '203.0.113.7', peid } }),
    );
  });

  it('the handlers see the tenant from the authorizer: another tenant gets 404, the owner lists it', async () => {
    const other = await mintToken(SECRET, { tenant: `${tenant}-other`, sub: 'someone' });
    expect(await call('GET', `/executions/${peid}`, { token: other })).toMatchObject({
      status: 404,
      body: errorBody('NOT_FOUND'),
    });
    const list = await call('GET', '/executions?limit=5', { token });
    expect(list.status).toBe(200);
    expect((list.body as { items: Array<{ peid: string }> }).items.map((i) => i.peid)).toContain(peid);
  });

  it('the scheduled topPlaybooks function, invoked through the lambda port, feeds /analytics/top-playbooks', async () => {
    const invoke = await fetch(`${LAMBDA}/2015-03-31/functions/playbook-service-local-topPlaybooks/invocations`, {
      method: 'POST',
      body: readFileSync(path.join(ROOT, 'events', 'topPlaybooks.json'), 'utf8'),
    });
    expect(invoke.status).toBe(200);
    const top = await call('GET', '/analytics/top-playbooks', { token });
    expect(top.status).toBe(200);
    const body = top.body as {
      generated_at: number;
      window_days: number;
      items: Array<{ name: string; count: number; average: number }>;
    };
    expect(body.generated_at).toBeGreaterThan(0);
    expect(body.window_days).toBe(30);
    expect(body.items).toContainEqual(expect.objectContaining({ name: 'enrich-and-block', count: 1 }));
    // Another tenant sees none of it.
    const other = await mintToken(SECRET, { tenant: `${tenant}-other`, sub: 'someone' });
    expect((await call('GET', '/analytics/top-playbooks', { token: other })).body).toMatchObject({ items: [] });
  });

  it('the playbook history and the audit log over HTTP; the reaper (with the audit sweep) through the lambda port', async () => {
    const versions = await call('GET', '/playbooks/enrich-and-block/versions', { token });
    expect(versions).toMatchObject({
      status: 200,
      body: { items: [{ version: 1, updated_by: 'e2e-analyst' }], next: null },
    });
    const restored = await call('POST', '/playbooks/enrich-and-block/versions/1/restore', { token });
    expect(restored).toMatchObject({ status: 200, body: { version: 2, updated_by: 'e2e-analyst' } });
    const log = await call('GET', '/audit?limit=10', { token });
    expect(log.status).toBe(200);
    const entries = (log.body as { items: Array<{ action: string; actor: string; target: string }> }).items;
    expect(entries.map((e) => [e.action, e.target])).toEqual([
      ['playbook.restore', 'playbook:enrich-and-block'],
      ['run.start', `execution:${peid}`],
      ['playbook.create', 'playbook:enrich-and-block'],
    ]);
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(['e2e-analyst']));
    expect(await call('GET', '/audit?since=tomorrow', { token })).toMatchObject({
      status: 400,
      body: errorBody('VALIDATION_FAILED'),
    });
    const reap = await fetch(`${LAMBDA}/2015-03-31/functions/playbook-service-local-reapRuns/invocations`, {
      method: 'POST',
      body: readFileSync(path.join(ROOT, 'events', 'reapRuns.json'), 'utf8'),
    });
    expect(reap.status).toBe(200);
    expect(await reap.json()).toMatchObject({ examined: expect.any(Number), timedOut: expect.any(Number) });
  });

  /** Polls a run until it is no longer running. */
  async function finished(id: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const run = await call('GET', `/executions/${id}`, { token });
      expect(run.status).toBe(200);
      const body = run.body as Record<string, unknown>;
      if (body.execution_status !== 'running') return body;
      if (Date.now() > deadline)
        throw new Error(`run still running: ${JSON.stringify(body)}\n${npm.output.slice(-3000)}`);
      await sleep(300);
    }
  }

  it('a signed webhook delivery over HTTP (no JWT) starts a run; a forged one gets the 401 body', async () => {
    const created = await call('POST', '/playbooks/enrich-and-block/webhooks', {
      token,
      body: { alert_id: 'edr-{{ detail.id }}', alert: '{{ {"src_ip": detail.src_ip} }}' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { url, secret } = created.body as { url: string; secret: string };
    const raw = JSON.stringify({ detail: { id: 'e2e-1', src_ip: '203.0.113.7' } });
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = `sha256=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
    const deliver = (signature: string) =>
      fetch(`${API}${url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-playbook-timestamp': ts, 'x-playbook-signature': signature },
        body: raw,
        signal: AbortSignal.timeout(30_000),
      });
    const accepted = await deliver(sig);
    const body = (await accepted.json()) as { peid: string };
    expect(accepted.status, JSON.stringify(body)).toBe(202);
    const run = await finished(body.peid);
    expect(run).toMatchObject({
      execution_status: 'completed',
      alert_id: 'edr-e2e-1',
      trigger: { type: 'webhook' },
      mode: 'live',
    });
    const forged = await deliver(`sha256=${'0'.repeat(64)}`);
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: 'invalid webhook request' } });
  });

  it('a schedule slot starts one run when runSchedules is invoked through the lambda port', async () => {
    const set = await call('PUT', '/playbooks/enrich-and-block/schedule', {
      token,
      body: { every_minutes: 1, alert: { src_ip: '203.0.113.7' } },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const slot = (set.body as { next_run_at: number }).next_run_at;
    // The slot is at most a minute away (`npm start` may fire runSchedules itself meanwhile).
    await sleep(Math.max(0, slot - Date.now()) + 1_000);
    const invoke = () =>
      fetch(`${LAMBDA}/2015-03-31/functions/playbook-service-local-runSchedules/invocations`, {
        method: 'POST',
        body: readFileSync(path.join(ROOT, 'events', 'runSchedules.json'), 'utf8'),
      });
    const answers = await Promise.all([invoke(), invoke()]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    // Stop further slots before counting.
    expect((await call('DELETE', '/playbooks/enrich-and-block/schedule', { token })).status).toBe(204);
    const list = await call('GET', '/executions?trigger=schedule&limit=100', { token });
    const runs = (list.body as { items: Array<{ peid: string; trigger: { slot: number } }> }).items.filter(
      (r) => r.trigger.slot === slot,
    );
    expect(runs).toHaveLength(1);
    expect(await finished(runs[0]?.peid ?? '')).toMatchObject({ execution_status: 'completed', uid: 'schedule' });
  }, 120_000);

  it("bad requests get the contract's 4xx bodies through serverless-offline, never a 502", async () => {
    const typo = await call('POST', '/playbooks', {
      token,
      body: { name: 'typo', tasks: [{ id: 'a', type: 'noop', depend_on: [] }] },
    });
    expect(typo).toMatchObject({ status: 400, body: errorBody('VALIDATION_FAILED') });
    expect(typo.contentType).toContain('application/json');
    expect((typo.body as { error: { details: Array<{ path: string }> } }).error.details).toContainEqual(
      expect.objectContaining({ path: 'tasks[0].depend_on' }),
    );

    expect(await call('POST', '/runplaybook', { token, raw: '{not json' })).toMatchObject({
      status: 400,
      body: errorBody('VALIDATION_FAILED'),
    });
    const badId = await call('GET', '/executions/not-a-uuid', { token });
    expect(badId).toMatchObject({ status: 400, body: errorBody('VALIDATION_FAILED') });
    expect(JSON.stringify(badId.body)).toContain('"path":"peid"');

    const big = await call('POST', '/playbooks', { token, raw: JSON.stringify({ name: 'x'.repeat(300 * 1024) }) });
    expect(big).toMatchObject({ status: 413, body: errorBody('PAYLOAD_TOO_LARGE') });

    expect(await call('POST', `/executions/${peid}/cancel`, { token })).toMatchObject({
      status: 409,
      body: errorBody('CONFLICT'),
    });

    const inactive = { ...payload('playbook.json'), name: 'parked', status: 'inactive' };
    expect((await call('POST', '/playbooks', { token, body: inactive })).status).toBe(201);
    expect(
      await call('POST', '/runplaybook', { token, body: { playbook_name: 'parked', alert_id: 'a-2', alert: {} } }),
    ).toMatchObject({ status: 422, body: errorBody('UNPROCESSABLE') });

    // 401 and 403 come from the authorizer, with serverless-offline's (API Gateway's) own body.
    expect((await call('GET', '/executions')).status).toBe(401);
    expect((await call('GET', '/executions', { token: 'not-a-jwt' })).status).toBe(403);
    const forged = await mintToken('some-other-secret-of-16+', { tenant, sub: 'x' });
    expect((await call('GET', '/executions', { token: forged })).status).toBe(403);
  });

  it('Ctrl-C (SIGINT to the start script) stops everything it started and frees the ports', async () => {
    const offlinePid = npm.printedPid(/serverless offline pid (\d+)/);
    expect(npm.printedPid(/\[start\] pid (\d+)/)).toBeDefined();
    expect(offlinePid).toBeDefined();
    const code = await npm.interrupt();
    expect(code, npm.output.slice(-3000)).toBe(0);
    expect(npm.output).toContain('stub stopped');
    expect(alive(offlinePid as number)).toBe(false);
    for (const port of PORTS) expect(await portOpen(port), `port ${port}`).toBe(false);
  }, 90_000);
});
