/**
 * Callback tokens, the credentials of approvals answered without a JWT (docs/approvals.md), on
 * runs the real consumer takes to their approval: each is 256 bits from crypto.randomBytes and
 * its own; it leaves the service only in its notify request. It is never logged (the consumer in
 * a process of its own at DEBUG level, the API and the timeout's consumer in this one, every
 * line kept), never listed (GET /approvals), never answered (GET /executions, the list, the
 * timeline, the audit log, the answers to respond and callbacks), never in a recorded notify
 * error, and stored only as its SHA-256 on its task.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { timerMessage } from '../../lib/engine/timers.js';
import { logger } from '../../lib/observability.js';
import { api } from '../support/api.js';
import { approvalPlaybook, deliverAt, tokenOf, waitForTask } from '../support/approval-runs.js';
import { createHarness, type Harness } from '../support/harness.js';
import { stopChild } from '../support/toxiproxy.js';
import { directDb } from './support/fixtures.js';
import { startWorker, type WorkerProcess } from './support/worker-process.js';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
let worker: WorkerProcess;
/** What this process logged (the API's handlers and the timeout's consumer) while the test ran. */
let logged = '';
const write = process.stdout.write.bind(process.stdout);

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  await h.createPlaybook(approvalPlaybook('approve-block', h.stub.url));
  // A notify that fails (times out) with the token and the link in its URL: its recorded error must not hold them.
  const quiet = approvalPlaybook('approve-quietly', h.stub.url, {
    notify: { method: 'POST', url: `${h.stub.url}/delay/3000/{{ approval.token }}?link={{ approval.callback_url }}` },
  });
  await h.createPlaybook({
    ...quiet,
    tasks: quiet.tasks.map((t) => (t.id === 'approve' ? { ...t, timeout_ms: 300 } : t)),
  });
  worker = await startWorker({ POWERTOOLS_LOG_LEVEL: 'DEBUG' });
  // Every invocation's middleware puts the level back to the environment's (SILENT in tests): keep DEBUG.
  vi.spyOn(logger, 'refreshSampleRateCalculation').mockImplementation(() => undefined);
  logger.setLogLevel('DEBUG');
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logged += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
});
afterAll(async () => {
  process.stdout.write = write;
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT');
  await stopChild(worker.child);
  await h.close();
  await direct.close();
});

const waiting = async (name = 'approve-block') => {
  const peid = await h.startRun(name, { src_ip: '203.0.113.7' });
  const { task } = await waitForTask(h, peid, 'approve', 'waiting');
  return { peid, until: task.wait?.until as number };
};

describe('callback tokens', () => {
  it('are 256 bits from a CSPRNG, URL-safe, one per question, stored as their SHA-256 only', async () => {
    const runs = await Promise.all(Array.from({ length: 24 }, () => waiting()));
    const tokens = await Promise.all(runs.map((r) => tokenOf(h, r.peid)));
    expect(new Set(tokens).size).toBe(tokens.length);
    let ones = 0;
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const bytes = Buffer.from(token, 'base64url');
      expect(bytes).toHaveLength(32);
      for (const b of bytes) for (let i = 0; i < 8; i++) ones += (b >> i) & 1;
    }
    // 6,144 bits: a fair source gives 50% ones within a few tenths of a percent (0.45..0.55 is ~8 sigma).
    const share = ones / (tokens.length * 256);
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
    const docs = await direct.db.collection(COLLECTIONS.tasks).find({ task_id: 'approve' }).toArray();
    for (const [i, run] of runs.entries()) {
      const doc = docs.find((d) => d.peid === run.peid);
      expect(doc?.approval?.token_hash).toBe(
        createHash('sha256')
          .update(tokens[i] as string)
          .digest('hex'),
      );
    }
    for (const r of runs)
      expect((await api('POST', `/executions/${r.peid}/cancel`, { token: h.tokenA })).status).toBe(202);
  });

  it('are never logged, listed, answered or recorded in a notify error, whatever the way the question ends', async () => {
    const byJwt = await waiting();
    const byCallback = await waiting();
    const byTimeout = await waiting();
    const cancelled = await waiting();
    const failedNotify = await waiting('approve-quietly');
    const tokens = await Promise.all([byJwt, byCallback, byTimeout, cancelled].map((r) => tokenOf(h, r.peid)));
    // The failing notify's token is the one in the URL it was sent to.
    const failedCall = h.stub.calls.find((c) => c.path.startsWith('/delay/3000/') && c.path.includes('?link='));
    const failedToken = /\/delay\/3000\/([A-Za-z0-9_-]{43})/.exec(failedCall?.path ?? '')?.[1] as string;
    expect(failedToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    tokens.push(failedToken);
    const hashes = tokens.map((t) => createHash('sha256').update(t).digest('hex'));

    const answers = [
      await api('POST', `/executions/${byJwt.peid}/tasks/approve/respond`, {
        token: h.tokenA,
        body: { choice: 'approve' },
      }),
      await api('GET', `/callbacks/${tokens[1]}`),
      await api('POST', `/callbacks/${tokens[1]}`, {
        rawBody: new URLSearchParams({ choice: 'reject', comment: 'no' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      await api('POST', `/callbacks/${tokens[1]}`, { body: { choice: 'approve' } }),
      await api('POST', `/executions/${cancelled.peid}/cancel`, { token: h.tokenA }),
      await api('GET', `/callbacks/${tokens[3]}`),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 404, 202, 404]);
    const message = timerMessage({
      tenant_code: 'tenant-a',
      peid: byTimeout.peid,
      task_id: 'approve',
      attempt: 1,
      kind: 'approval_timeout',
    });
    expect(await deliverAt(message, byTimeout.until)).toEqual([]);
    for (const r of [byJwt, byCallback, byTimeout])
      expect((await h.waitFinished(r.peid)).execution_status).toBe('completed');

    // The question whose notify failed waits, its failure recorded without the token.
    const notifyOf = async () =>
      (await direct.db.collection(COLLECTIONS.tasks).findOne({ peid: failedNotify.peid, task_id: 'approve' }))?.approval
        ?.notify;
    for (let i = 0; i < 200 && (await notifyOf()) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await notifyOf()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });

    const reads = [
      ...answers.map((a) => a.body),
      ...(
        await Promise.all(
          [byJwt, byCallback, byTimeout, cancelled, failedNotify].flatMap((r) => [
            api('GET', `/executions/${r.peid}`, { token: h.tokenA }),
            api('GET', `/executions/${r.peid}/timeline`, { token: h.tokenA }),
            api('GET', `/executions/${r.peid}/timeline`, { token: h.tokenA, query: { format: 'svg' } }),
          ]),
        )
      ).map((r) => r.body),
      (await api('GET', '/executions', { token: h.tokenA, query: { limit: '100' } })).body,
      (await api('GET', '/approvals', { token: h.tokenA, query: { status: 'waiting' } })).body,
      (await api('GET', '/audit', { token: h.tokenA })).body,
    ];
    const answered = JSON.stringify(reads);
    expect(answered).toContain(failedNotify.peid);
    for (const secret of [...tokens, ...hashes]) expect(answered.includes(secret), 'an API answer').toBe(false);

    // Stored: no token anywhere; a hash only on its task document.
    for (const c of Object.values(COLLECTIONS)) {
      const text = JSON.stringify(await direct.db.collection(c).find({}).toArray());
      for (const t of tokens) expect(text.includes(t), `collection ${c}`).toBe(false);
      if (c !== COLLECTIONS.tasks) for (const x of hashes) expect(text.includes(x), `collection ${c}`).toBe(false);
    }

    // Logged: the consumer at DEBUG (it started every wait and sent every notify), the API, the timeout.
    const logs = `${worker.output()}\n${logged}`;
    expect(logs).toContain('task waits');
    // Routes are logged by their template, never with the token in them.
    expect(logged).toContain('"route":"POST /callbacks/{token}"');
    expect(logged).toContain('timer applied');
    for (const secret of [...tokens, ...hashes]) expect(logs.includes(secret), 'the logs').toBe(false);
  });
});
