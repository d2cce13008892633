/**
 * Integration secrets: an http task references `{{ secrets.NAME }}`; the value is resolved at
 * run time from SSM Parameter Store (a SecureString in moto, the local SSM server started by
 * this project's globalSetup) through Powertools Parameters, scoped to the run's tenant and
 * cached in the container. The integration receives the real value; the stored outputs and
 * errors, the API's answers, the run's other tasks and the logs (DEBUG level) never contain it,
 * in any form: as is, JSON-escaped, URL-encoded or base64 (an integration echoing it encoded).
 * A secret can only be used as it is (or URL-encoded) in an http task's url, headers and body:
 * no expression ever sees its value, so no transform can disguise it; anything else is a 400.
 */
import { randomUUID } from 'node:crypto';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { stopChild } from '../support/toxiproxy.js';
import { directDb, sleep, waitRun, waitSettled } from './support/fixtures.js';
import { startWorker } from './support/worker-process.js';

const suffix = randomUUID().slice(0, 8);
const PREFIX = `/playbook-service/test-${suffix}/secrets/`;
process.env.SSM_ENDPOINT = inject('ssmEndpoint');
process.env.SECRETS_SSM_PREFIX = PREFIX;
process.env.SECRETS_CACHE_MAX_AGE_SECONDS = '2';

const ssm = new SSMClient({ region: process.env.AWS_REGION ?? 'us-east-1', endpoint: inject('ssmEndpoint') });
// Characters that change when JSON- or URL-encoded, so every stored form of the value is checked.
const tokenA1 = `sk-live-"a1"\\${randomUUID()}`;
const tokenA2 = `sk-live-a2-${randomUUID()}`;
const tokenB = `sk-live-b-${randomUUID()}`;
const ALL_SECRETS = [tokenA1, tokenA2, tokenB];
const ALERT_MARKER = `alert-user-${randomUUID()}`;

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;

async function putSecret(tenant: string, name: string, value: string): Promise<void> {
  await ssm.send(
    new PutParameterCommand({
      Name: `${PREFIX}${tenant}/${name}`,
      Value: value,
      Type: 'SecureString',
      Overwrite: true,
    }),
  );
}

/** Every form a value can take in stored or logged text (base64: as an integration may echo it). */
function forms(value: string): string[] {
  const b64 = Buffer.from(value).toString('base64');
  return [
    value,
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
    encodeURI(value),
    b64,
    b64.replace(/=+$/, ''),
    Buffer.from(value).toString('base64url'),
  ];
}

function expectNoSecret(text: string, where: string): void {
  for (const s of ALL_SECRETS)
    for (const f of forms(s)) expect(text.includes(f), `${where} contains a secret`).toBe(false);
}

beforeAll(async () => {
  await putSecret('tenant-a', 'INTEL_TOKEN', tokenA1);
  await putSecret('tenant-b', 'INTEL_TOKEN', tokenB);
  h = await createHarness();
  direct = await directDb();

  const stub = h.stub.url;
  const playbook = {
    name: 'with-secrets',
    tasks: [
      {
        id: 'lookup',
        type: 'http',
        config: {
          method: 'POST',
          url: `${stub}/echo-headers/{{ execution.peid }}`,
          headers: { authorization: 'Bearer {{ secrets.INTEL_TOKEN }}', 'x-api-key': '{{ secrets.INTEL_TOKEN }}' },
          // `keys`: what the expressions of an http template see (secrets never are in it).
          body: {
            token: '{{ secrets.INTEL_TOKEN }}',
            note: 'k={{ $encodeUrlComponent(secrets.INTEL_TOKEN) }}',
            keys: '{{ $keys($) }}',
          },
        },
      },
      // An integration that answers with the headers it got, base64-encoded.
      {
        id: 'echo_b64',
        type: 'http',
        config: {
          method: 'GET',
          url: `${stub}/echo-headers-b64/{{ execution.peid }}`,
          headers: { 'x-api-key': '{{ secrets.INTEL_TOKEN }}' },
        },
      },
      // A failing call with the secret in its url: the answer (echoing the path) and the error are stored.
      {
        id: 'fails',
        type: 'http',
        on_failure: 'continue',
        config: { method: 'GET', url: `${stub}/status/500/{{ $encodeUrlComponent(secrets.INTEL_TOKEN) }}` },
      },
      // Downstream tasks see only what was stored.
      { id: 'copy', type: 'transform', depends_on: ['lookup'], config: { expression: 'tasks.lookup.output' } },
      // Expressions outside http configs have no `secrets` either.
      { id: 'peek', type: 'transform', depends_on: ['lookup'], config: { expression: '$keys($)' } },
    ],
  };
  await h.createPlaybook(playbook);
  await h.createPlaybook(playbook, h.tokenB);
  await h.createPlaybook({
    name: 'missing-secret',
    tasks: [
      {
        id: 'call',
        type: 'http',
        retry: { max_attempts: 3, backoff_ms: 0, max_backoff_ms: 0 },
        config: { method: 'GET', url: `${stub}/ok/missing`, headers: { authorization: 'Bearer {{ secrets.NOPE }}' } },
      },
    ],
  });
});
afterAll(async () => {
  await h.close();
  await direct.close();
  ssm.destroy();
});

describe('integration secrets', () => {
  it('reach the integration with their real value and are stored, answered and logged only as [redacted]', async () => {
    // The consumer runs in its own process with POWERTOOLS_LOG_LEVEL=DEBUG; all it prints is kept.
    const worker = await startWorker({ POWERTOOLS_LOG_LEVEL: 'DEBUG' });
    let peidA: string;
    let peidB: string;
    try {
      peidA = await h.startRun('with-secrets', { src_ip: '203.0.113.9', user: ALERT_MARKER });
      peidB = await h.startRun('with-secrets', {}, h.tokenB);
      await waitSettled(h, peidA);
      await waitRun(direct.db, peidB);
    } finally {
      await stopChild(worker.child);
    }

    // The integration got each tenant's own value, in headers and body.
    const echo = (peid: string) => h.stub.calls.find((c) => c.path === `/echo-headers/${peid}`);
    expect(echo(peidA)?.headers.authorization).toBe(`Bearer ${tokenA1}`);
    expect(echo(peidA)?.headers['x-api-key']).toBe(tokenA1);
    expect(echo(peidA)?.body).toEqual({
      token: tokenA1,
      note: `k=${encodeURIComponent(tokenA1)}`,
      keys: ['alert', 'tasks', 'execution'],
    });
    const b64 = h.stub.calls.find((c) => c.path === `/echo-headers-b64/${peidA}`);
    expect(b64?.headers['x-api-key']).toBe(tokenA1);
    expect(echo(peidB)?.headers.authorization).toBe(`Bearer ${tokenB}`);
    expect(h.stub.callsTo(`/status/500/${encodeURIComponent(tokenA1)}`)).toHaveLength(1);

    // What the API answers: the run worked, every secret is [redacted].
    const res = await api('GET', `/executions/${peidA}`, { token: h.tokenA });
    expect(res.status).toBe(200);
    const view = res.body as {
      execution_status: string;
      tasks: Array<{ task_id: string; status: string; output: unknown; error: unknown }>;
    };
    expect(view.execution_status).toBe('completed');
    const task = (id: string) => view.tasks.find((t) => t.task_id === id);
    expect(task('lookup')?.status).toBe('succeeded');
    expect(task('lookup')?.output).toMatchObject({
      status: 200,
      body: { headers: { authorization: 'Bearer [redacted]', 'x-api-key': '[redacted]' } },
    });
    expect(task('fails')).toMatchObject({ status: 'failed', error: { code: 'HTTP_STATUS' } });
    expect(JSON.stringify(task('fails')?.output)).toContain('[redacted]');
    expect(task('copy')?.output).toEqual(task('lookup')?.output);
    expect(task('peek')).toMatchObject({ status: 'succeeded', output: ['alert', 'tasks', 'execution'] });
    // The base64 echo of the secret is stored redacted too.
    expect(task('echo_b64')?.output).toMatchObject({ status: 200, body: { headers: { 'x-api-key': '[redacted]' } } });
    expectNoSecret(JSON.stringify(res.body), 'GET /executions/{peid}');
    expectNoSecret(
      JSON.stringify((await api('GET', `/executions/${peidB}`, { token: h.tokenB })).body),
      'tenant-b run',
    );

    // What is stored, read straight from the database: every document of every collection.
    for (const c of Object.values(COLLECTIONS)) {
      const docs = await direct.db.collection(c).find({}).toArray();
      expectNoSecret(JSON.stringify(docs), `collection ${c}`);
    }

    // What the consumer logged, at DEBUG level.
    const logs = worker.output();
    expect(logs).toContain('task finished');
    expectNoSecret(logs, 'the logs');
    // Nor the alert (it reaches the integration only through templates).
    expect(logs.includes(ALERT_MARKER)).toBe(false);
  });

  it('can be used only as they are (or URL-encoded) in http url, headers and body: anything else is a 400', async () => {
    const call = (config: Record<string, unknown>) => ({
      id: 'call',
      type: 'http',
      config: { method: 'POST', url: `${h.stub.url}/ok/misuse`, ...config },
    });
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [
        'transformed in a header',
        call({ headers: { authorization: 'Basic {{ $base64encode(secrets.INTEL_TOKEN) }}' } }),
        'tasks[0].config.headers.authorization',
      ],
      ['combined in the body', call({ body: { k: '{{ secrets.INTEL_TOKEN & "x" }}' } }), 'tasks[0].config.body.k'],
      [
        'read through the context in the url',
        call({ url: 'https://x.example/{{ $.secrets.INTEL_TOKEN }}' }),
        'tasks[0].config.url',
      ],
      [
        'in a transform',
        { id: 'call', type: 'transform', config: { expression: '$substring(secrets.INTEL_TOKEN, 0, 4)' } },
        'tasks[0].config.expression',
      ],
      ['in run_if', { id: 'call', type: 'noop', run_if: '$length(secrets.INTEL_TOKEN) > 0' }, 'tasks[0].run_if'],
      [
        "in a sub-playbook's alert",
        { id: 'call', type: 'playbook', config: { name: 'with-secrets', alert: { k: '{{ secrets.INTEL_TOKEN }}' } } },
        'tasks[0].config.alert.k',
      ],
    ];
    for (const [what, task, path] of cases) {
      const res = await api('POST', '/playbooks', { token: h.tokenA, body: { name: 'misuse', tasks: [task] } });
      expect(res.status, what).toBe(400);
      const details = (res.body as { error: { details: Array<{ path: string; message: string }> } }).error.details;
      expect(
        details.map((d) => d.path),
        what,
      ).toContain(path);
      expect(JSON.stringify(details), what).toMatch(/secrets/);
    }
    const stored = await direct.db.collection(COLLECTIONS.playbooks).countDocuments({ name: 'misuse' });
    expect(stored).toBe(0);
  });

  it('are cached for SECRETS_CACHE_MAX_AGE_SECONDS: a rotated value is used after the cache expires', async () => {
    const poller = h.poller().start();
    try {
      const first = await h.startRun('with-secrets');
      await h.waitFinished(first, 30_000);
      await putSecret('tenant-a', 'INTEL_TOKEN', tokenA2);
      const cached = await h.startRun('with-secrets');
      await h.waitFinished(cached, 30_000);
      await sleep(2_500);
      const rotated = await h.startRun('with-secrets');
      await h.waitFinished(rotated, 30_000);
      const auth = (peid: string) =>
        h.stub.calls.find((c) => c.path === `/echo-headers/${peid}`)?.headers.authorization;
      expect(auth(first)).toBe(`Bearer ${tokenA1}`);
      expect(auth(cached)).toBe(`Bearer ${tokenA1}`);
      expect(auth(rotated)).toBe(`Bearer ${tokenA2}`);
      for (const peid of [first, cached, rotated]) {
        expectNoSecret(JSON.stringify((await api('GET', `/executions/${peid}`, { token: h.tokenA })).body), peid);
      }
    } finally {
      await poller.stop();
      await putSecret('tenant-a', 'INTEL_TOKEN', tokenA1);
    }
  });

  it('a secret that does not exist fails the task at once (not retried), without calling the integration', async () => {
    const poller = h.poller().start();
    try {
      const e = await waitSettled(h, await h.startRun('missing-secret'));
      expect(e.execution_status).toBe('failed');
      expect(e.tasks[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'SECRET_NOT_FOUND' } });
      expect(h.stub.callsTo('/ok/missing')).toHaveLength(0);
    } finally {
      await poller.stop();
    }
  });

  it("a tenant cannot reach another tenant's secret", async () => {
    const poller = h.poller().start();
    try {
      // tenant-b defines only INTEL_TOKEN; tenant-a's other names do not exist under tenant-b's path.
      await putSecret('tenant-a', 'ONLY_A', tokenA2);
      await h.createPlaybook(
        {
          name: 'steal',
          tasks: [
            {
              id: 'call',
              type: 'http',
              config: { method: 'GET', url: `${h.stub.url}/ok/steal`, headers: { 'x-k': '{{ secrets.ONLY_A }}' } },
            },
          ],
        },
        h.tokenB,
      );
      const { tasks } = await waitRun(direct.db, await h.startRun('steal', {}, h.tokenB));
      expect(tasks[0]?.error?.code).toBe('SECRET_NOT_FOUND');
      expect(h.stub.callsTo('/ok/steal')).toHaveLength(0);
    } finally {
      await poller.stop();
    }
  });
});
