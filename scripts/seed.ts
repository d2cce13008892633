/**
 * `npm run seed`: loads the sample SOAR playbooks into the running local service
 * (`npm start`), through its HTTP API as a user would, starts one example run of
 * each and prints them. Playbooks call the local integration stub; set
 * SEED_INTEGRATIONS_URL to point them at real services instead.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mintToken } from './lib/token.js';

const { values } = parseArgs({
  options: {
    api: { type: 'string', default: process.env.SEED_API_URL ?? 'http://127.0.0.1:3000' },
    tenant: { type: 'string', default: 'acme' },
    sub: { type: 'string', default: 'analyst1' },
    'no-runs': { type: 'boolean', default: false },
  },
});
const api = values.api ?? 'http://127.0.0.1:3000';
const integrations = process.env.SEED_INTEGRATIONS_URL ?? `http://127.0.0.1:${process.env.LOCAL_STUB_PORT ?? 3010}`;
const token = await mintToken(process.env.AUTH_JWT_SECRET ?? 'local-dev-secret', {
  tenant: values.tenant ?? 'acme',
  sub: values.sub ?? 'analyst1',
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

try {
  await fetch(`${api}/health`, { signal: AbortSignal.timeout(3_000) });
} catch {
  console.error(`[seed] the service does not answer at ${api}: start it first with \`npm start\`.`);
  process.exit(1);
}

// The integration base URL is a deployment choice, not part of the playbook: fill it in here.
const raw = readFileSync(new URL('./seed/playbooks.json', import.meta.url), 'utf8').replaceAll(
  '{{ $stub }}',
  integrations,
);
const playbooks = JSON.parse(raw) as Array<{ name: string }>;
for (const pb of playbooks) {
  const created = await call('POST', '/playbooks', pb);
  const replaced = created.status === 409 ? await call('PUT', `/playbooks/${pb.name}`, pb) : created;
  if (replaced.status >= 300) {
    console.error(`[seed] ${pb.name}: ${replaced.status} ${JSON.stringify(replaced.body)}`);
    process.exit(1);
  }
  console.log(`[seed] playbook ${pb.name} v${(replaced.body as { version: number }).version}`);
}

const alerts: Record<string, Record<string, unknown>> = {
  'enrich-and-block': { src_ip: '203.0.113.7', rule: 'ssh-bruteforce' },
  'phishing-triage': {
    message_id: 'msg-4711',
    sender: 'billing@invoices.example',
    sender_ip: '198.51.100.23',
    link_ips: ['203.0.113.80', '198.51.100.9'],
  },
  'indicator-sweep': {
    indicators: Array.from({ length: 25 }, (_, i) => (i % 5 === 0 ? `203.0.113.${i}` : `198.51.100.${i}`)),
  },
};
if (values['no-runs']) process.exit(0);

for (const [name, alert] of Object.entries(alerts)) {
  const started = await call('POST', '/runplaybook', { playbook_name: name, alert_id: `seed-${name}`, alert });
  if (started.status !== 202) {
    console.error(`[seed] run ${name}: ${started.status} ${JSON.stringify(started.body)}`);
    process.exit(1);
  }
  const { peid } = started.body as { peid: string };
  let view: {
    execution_status: string;
    playbook_runtime: number | null;
    tasks: Array<{ task_id: string; status: string; output: unknown }>;
  };
  const deadline = Date.now() + 60_000;
  do {
    await new Promise((r) => setTimeout(r, 300));
    view = (await call('GET', `/executions/${peid}`)).body as typeof view;
  } while (view.execution_status === 'running' && Date.now() < deadline);
  console.log(`\n[seed] run of ${name}: ${peid} ${view.execution_status} in ${view.playbook_runtime ?? '?'} ms`);
  for (const t of view.tasks)
    console.log(`  ${t.task_id.padEnd(14)} ${t.status.padEnd(10)} ${JSON.stringify(t.output)?.slice(0, 90)}`);
}
console.log(`\nMore: curl -H "authorization: Bearer $(npm run -s token)" ${api}/executions`);
