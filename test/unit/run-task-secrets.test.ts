/**
 * runTask's enforcement of the secrets rule for definitions stored before it (save-time
 * validation refuses them now): an http task using a secret other than directly fails with
 * SECRET_MISUSE before any secret is resolved or any integration called; a direct use is
 * substituted by the engine and never visible to the template's expressions.
 */
import { describe, expect, it } from 'vitest';
import { taskSchema } from '../../lib/domain/playbook-schema.js';
import type { TaskRecord } from '../../lib/engine/model.js';
import type { IntegrationClient, IntegrationRequest } from '../../lib/engine/ports/integrations.js';
import type { SecretResolver } from '../../lib/engine/ports/secrets.js';
import { buildContext, runTask } from '../../lib/engine/run-task.js';

function httpTask(config: Record<string, unknown>): TaskRecord {
  const def = taskSchema.parse({
    id: 'call',
    type: 'http',
    config: { method: 'POST', url: 'https://x.example/', ...config },
  });
  return {
    peid: 'p1',
    tenant_code: 't1',
    alert_id: 'a1',
    task_seq: 0,
    task_id: 'call',
    type: 'http',
    def,
    dependents: [],
    status: 'running',
    attempts: 1,
    claim: null,
    output_json: null,
    truncated: false,
    error: null,
    started_at: 0,
    finished_at: null,
    duration_ms: null,
    createddate: 0,
    updateddate: 0,
  } as TaskRecord;
}

function fakes(value: string) {
  const resolved: string[][] = [];
  const sent: IntegrationRequest[] = [];
  const secrets: SecretResolver = {
    resolve: async (_tenant, names) => {
      resolved.push(names);
      return Object.fromEntries(names.map((n) => [n, value]));
    },
  };
  const integrations: IntegrationClient = {
    request: async (req) => {
      sent.push(req);
      return { status: 200, body: { echoed: req.headers, b64: Buffer.from(value).toString('base64') } };
    },
  };
  return { secrets, integrations, resolved, sent };
}

const ctx = buildContext({ peid: 'p1', tenant_code: 't1', alert_json: '{"user":"u"}' }, []);

describe('runTask and integration secrets', () => {
  it('fails a stored http task that transforms a secret (SECRET_MISUSE), resolving and calling nothing', async () => {
    const f = fakes('s3cret-value');
    const task = httpTask({ headers: { authorization: 'Basic {{ $base64encode(secrets.TOKEN) }}' } });
    const outcome = await runTask(task, ctx, f.integrations, Date.now() + 5_000, f.secrets);
    expect(outcome).toMatchObject({ status: 'failed', retryable: false, error: { code: 'SECRET_MISUSE' } });
    expect(outcome.error?.message).toContain('config.headers.authorization');
    expect(f.resolved).toEqual([]);
    expect(f.sent).toEqual([]);
  });

  it('substitutes direct uses (as is and URL-encoded); expressions see no secrets; every form is redacted', async () => {
    const f = fakes('s3cret/value');
    const task = httpTask({
      url: 'https://x.example/q?k={{ $encodeUrlComponent(secrets.TOKEN) }}',
      headers: { authorization: 'Bearer {{ secrets.TOKEN }}', 'x-keys': '{{ $join($keys($), ",") }}' },
    });
    const outcome = await runTask(task, ctx, f.integrations, Date.now() + 5_000, f.secrets);
    expect(f.resolved).toEqual([['TOKEN']]);
    expect(f.sent[0]?.url).toBe('https://x.example/q?k=s3cret%2Fvalue');
    expect(f.sent[0]?.headers).toEqual({ authorization: 'Bearer s3cret/value', 'x-keys': 'alert,tasks,execution' });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.output).toEqual({
      status: 200,
      body: { echoed: { authorization: 'Bearer [redacted]', 'x-keys': 'alert,tasks,execution' }, b64: '[redacted]' },
    });
  });
});
