/**
 * `npm start` behaves as the deployed service does where it matters to a user evaluating it:
 * executeTask is fed as Lambda's SQS event source mapping feeds it (serverless.yml's batch size,
 * maximum concurrency and ReportBatchItemFailures; tools/sqs-event-source/), so independent tasks
 * run in parallel and a loop's `concurrency` caps its items in flight; the DLQ feeds dlqHandler;
 * the schedules fire on their own. Over HTTP (and, for the DLQ, one message put on the local DLQ).
 * Overlap and caps are read from the stub's call log and counters (order and counts); the times
 * are printed for the record, never asserted (speed claims belong to `npm run bench`).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEndpoints } from '../../scripts/lib/stack/index.mjs';
import { mintToken } from '../../scripts/lib/token.js';
import { BOOT_TIMEOUT_MS, call, NpmStart, PORTS, portOpen, SECRET, STUB, sleep } from './support/npm-start.js';

const tenant = `e2e-es-${Date.now().toString(36)}`;
let token: string;
let npm: NpmStart;

interface StubCall {
  group: string | null;
  seq: number;
  end_seq: number | null;
}
interface Execution {
  peid: string;
  execution_status: string;
  playbook_runtime: number | null;
  error?: { code: string } | null;
}

const delayUrl = (ms: number) => `http://127.0.0.1:3010/delay/${ms}?group={{ alert.group }}`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function stub<T>(p: string): Promise<T> {
  return (await (await fetch(`${STUB}${p}`)).json()) as T;
}

async function createPlaybook(body: unknown): Promise<void> {
  const res = await call('POST', '/playbooks', { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** Starts a run and polls it (every 25 ms) until it is no longer running. */
async function run(playbook: string, alert: Record<string, unknown>, timeoutMs = 60_000): Promise<Execution> {
  const started = await call('POST', '/runplaybook', {
    token,
    body: { playbook_name: playbook, alert_id: `a-${Date.now()}`, alert },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const { peid } = started.body as { peid: string };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call('GET', `/executions/${peid}`, { token });
    const view = res.body as Execution;
    if (view.execution_status !== 'running') return view;
    if (Date.now() > deadline) throw new Error(`run ${peid} still running\n${npm.output.slice(-3000)}`);
    await sleep(25);
  }
}

describe('npm start feeds its functions as AWS does', () => {
  beforeAll(async () => {
    // Both schedules every minute, so the schedule test does not wait five.
    npm = await NpmStart.boot({ LOCAL_SCHEDULE_RATE: 'rate(1 minute)' });
    token = await mintToken(SECRET, { tenant, sub: 'e2e-analyst' });
  }, BOOT_TIMEOUT_MS + 30_000);

  afterAll(() => npm?.kill(), 60_000);

  it("reads each consumer's event source settings from serverless.yml", () => {
    expect(npm.output).toContain(
      'SQS event source: executeTask <- playbook-service-local-tasks (batch 10, window 0 s, up to 10 at once, ReportBatchItemFailures, visibility timeout 720 s)',
    );
    expect(npm.output).toContain(
      'SQS event source: dlqHandler <- playbook-service-local-tasks-dlq (batch 10, window 0 s, up to 2 at once, visibility timeout 360 s)',
    );
  });

  it('runs 10 independent http tasks at once: every call starts before any is answered', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const fanOut = (name: string, ms: number) =>
      createPlaybook({
        name,
        tasks: [
          ...ids.map((id) => ({ id, type: 'http', config: { method: 'GET', url: delayUrl(ms) } })),
          { id: 'join', type: 'noop', depends_on: ids },
        ],
      });
    // The overlap is asserted on calls long enough (1.5 s) that a loaded machine cannot order
    // them by accident: run one after another, the tenth would start 13.5 s after the first answer.
    await fanOut('fan-out-10-long', 1_500);
    for (let i = 0; i < 2; i++) {
      const group = `fan-long-${tenant}-${i}`;
      const view = await run('fan-out-10-long', { group });
      expect(view.execution_status).toBe('completed');
      const { calls } = await stub<{ calls: StubCall[] }>(`/calls?group=${encodeURIComponent(group)}`);
      expect(calls).toHaveLength(10);
      const lastStart = Math.max(...calls.map((c) => c.seq));
      const firstAnswer = Math.min(...calls.map((c) => c.end_seq ?? Number.POSITIVE_INFINITY));
      expect(lastStart, `run ${i}: the 10th call started after the first answer`).toBeLessThan(firstAnswer);
      expect(await stub(`/concurrency/${encodeURIComponent(group)}`)).toMatchObject({ calls: 10, peak: 10 });
    }
    // The fan-out's timing: 10 x 100 ms + join. Times and peaks are printed, not asserted.
    await fanOut('fan-out-10', 100);
    const times: number[] = [];
    const peaks: number[] = [];
    // One run to warm the function instances, then ten measured.
    for (let i = 0; i <= 10; i++) {
      const group = `fan-${tenant}-${i}`;
      const view = await run('fan-out-10', { group });
      expect(view.execution_status).toBe('completed');
      const { calls } = await stub<{ calls: StubCall[] }>(`/calls?group=${encodeURIComponent(group)}`);
      expect(calls).toHaveLength(10);
      const { peak } = await stub<{ peak: number }>(`/concurrency/${encodeURIComponent(group)}`);
      expect(peak).toBeLessThanOrEqual(10);
      if (i > 0) {
        times.push(view.playbook_runtime ?? Number.NaN);
        peaks.push(peak);
      }
    }
    console.log(
      `[e2e] fan-out of 10 x 100 ms http tasks + join under npm start: run time median ${median(times)} ms ` +
        `(runs: ${times.join(', ')} ms; calls in flight at the peak: ${peaks.join(', ')})`,
    );
  });

  it('keeps a for_each of 30 items at concurrency 3: three in flight at the peak, never more', async () => {
    const loop = (name: string, ms: number) =>
      createPlaybook({
        name,
        tasks: [
          {
            id: 'each',
            type: 'http',
            for_each: 'alert.items',
            concurrency: 3,
            config: { method: 'GET', url: delayUrl(ms) },
          },
        ],
      });
    // Exactly 3 at the peak, asserted on 1.5 s calls (a loaded machine cannot miss the overlap).
    await loop('loop-9-long', 1_500);
    const longGroup = `loop-long-${tenant}`;
    const longView = await run('loop-9-long', { group: longGroup, items: Array.from({ length: 9 }, (_, k) => k) });
    expect(longView.execution_status).toBe('completed');
    expect(await stub(`/concurrency/${encodeURIComponent(longGroup)}`)).toMatchObject({ calls: 9, peak: 3 });
    // The loop's timing: 30 x 100 ms; never more than 3 in flight, times printed.
    await loop('loop-30', 100);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const group = `loop-${tenant}-${i}`;
      const items = Array.from({ length: 30 }, (_, k) => k);
      const view = await run('loop-30', { group, items });
      expect(view.execution_status).toBe('completed');
      const { calls, peak } = await stub<{ calls: number; peak: number }>(`/concurrency/${encodeURIComponent(group)}`);
      expect(calls).toBe(30);
      expect(peak).toBeLessThanOrEqual(3);
      times.push(view.playbook_runtime ?? Number.NaN);
    }
    console.log(
      `[e2e] for_each of 30 x 100 ms at concurrency 3 under npm start: run time median ${median(times)} ms ` +
        `(runs: ${times.join(', ')} ms)`,
    );
  });

  it('feeds the DLQ to dlqHandler: a dead-lettered task fails its run (POISON_MESSAGE)', async () => {
    await createPlaybook({ name: 'waits', tasks: [{ id: 'wait', type: 'delay', config: { seconds: 600 } }] });
    const started = await call('POST', '/runplaybook', {
      token,
      body: { playbook_name: 'waits', alert_id: 'dlq-1', alert: {} },
    });
    expect(started.status).toBe(202);
    const { peid } = started.body as { peid: string };
    const ep = stackEndpoints();
    const sqs = new SQSClient({
      endpoint: ep.sqsEndpoint,
      region: ep.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: ep.dlqUrl,
          MessageBody: JSON.stringify({ v: 1, tenant_code: tenant, peid, task_id: 'wait', attempt: 1 }),
        }),
      );
    } finally {
      sqs.destroy();
    }
    const deadline = Date.now() + 30_000;
    let view: Execution;
    for (;;) {
      view = (await call('GET', `/executions/${peid}`, { token })).body as Execution;
      if (view.execution_status !== 'running' || Date.now() > deadline) break;
      await sleep(100);
    }
    expect(view).toMatchObject({ execution_status: 'failed', error: { code: 'POISON_MESSAGE' } });
  });

  it('fires the schedules on their own: topPlaybooks reports these runs, reapRuns runs', async () => {
    const deadline = Date.now() + 150_000;
    let items: Array<{ name: string; count: number }> = [];
    for (;;) {
      const top = await call('GET', '/analytics/top-playbooks', { token });
      items = (top.body as { items: typeof items }).items;
      const fired = ['topPlaybooks', 'reapRuns'].every((f) =>
        npm.output.includes(`Successfully invoked scheduled function: [${f}]`),
      );
      // A report computed while the earlier tests' runs were still going counts fewer: wait for one after them.
      const reported = items?.some((i) => i.name === 'fan-out-10' && i.count === 11);
      if ((fired && reported) || Date.now() > deadline) break;
      await sleep(1_000);
    }
    expect(npm.output).toContain('Successfully invoked scheduled function: [topPlaybooks]');
    expect(npm.output).toContain('Successfully invoked scheduled function: [reapRuns]');
    expect(items).toContainEqual(expect.objectContaining({ name: 'fan-out-10', count: 11 }));
  }, 180_000);

  it('Ctrl-C stops it all', async () => {
    expect(await npm.interrupt()).toBe(0);
    for (const port of PORTS) expect(await portOpen(port), `port ${port}`).toBe(false);
  }, 90_000);
});
