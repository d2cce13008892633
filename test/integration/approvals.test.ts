/**
 * Approvals through the real handlers against MongoDB and SQS: an answer by JWT and by callback
 * token (page, form post, JSON), completed by the real consumer; every refusal the contract names
 * (400, 403, 404, 409); the list of open questions; and the race of two analysts, a callback, the
 * timeout and a cancellation, which exactly one wins. The approval task is put in `waiting`
 * directly in the database (test/support/waits.ts): starting a wait is tested in waits.test.ts.
 */
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import type { TaskRecord } from '../../lib/engine/model.js';
import { timerMessage } from '../../lib/engine/timers.js';
import { handleTimerMessage } from '../../lib/engine/waits.js';
import { waitDeps } from '../../lib/wiring/approvals.js';
import { mintToken } from '../../scripts/lib/token.js';
import { directDb } from '../reliability/support/fixtures.js';
import { api } from '../support/api.js';
import { TEST_JWT_SECRET } from '../support/endpoints.js';
import { createHarness, type Harness } from '../support/harness.js';
import { type ApprovalRun, approvalRun } from '../support/waits.js';

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
let db: Db;
/** A second analyst of tenant-a, and one who is no approver. */
let tokenA2: string;
let tokenOutsider: string;

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  db = direct.db;
  tokenA2 = await mintToken(TEST_JWT_SECRET, { tenant: 'tenant-a', sub: 'analyst-a2' });
  tokenOutsider = await mintToken(TEST_JWT_SECRET, { tenant: 'tenant-a', sub: 'intern' });
});
afterAll(async () => {
  await h.close();
  await direct.close();
});

const respond = (peid: string, body: unknown, token = h.tokenA, task = 'approve') =>
  api('POST', `/executions/${peid}/tasks/${task}/respond`, { token, body });
const form = (token: string, fields: Record<string, string>) =>
  api('POST', `/callbacks/${token}`, {
    rawBody: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
const stored = async (peid: string, task = 'approve') =>
  (await db.collection<TaskRecord>(COLLECTIONS.tasks).findOne({ peid, task_id: task })) as TaskRecord;

describe('an answer by JWT', () => {
  it('is recorded, the task message sent, and the consumer completes the task with the answer as output', async () => {
    const run = await approvalRun();
    const res = await respond(run.peid, { choice: 'approve', comment: 'known scanner' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      peid: run.peid,
      task_id: 'approve',
      playbook_name: 'approve-block',
      prompt: 'Block 203.0.113.7?',
      choices: ['approve', 'reject'],
      approvers: null,
      expires_at: run.until,
      status: 'queued',
      attempts: 1,
      answer: { choice: 'approve', by: 'analyst-a', comment: 'known scanner' },
    });
    const p = h.poller().start();
    const done = await h.waitFinished(run.peid);
    await p.stop();
    expect(done.execution_status).toBe('completed');
    const approve = done.tasks.find((t) => t.task_id === 'approve');
    expect(approve).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      output: { choice: 'approve', by: 'analyst-a', comment: 'known scanner', at: expect.any(Number) },
    });
    expect(done.tasks.find((t) => t.task_id === 'block')?.status).toBe('succeeded');
    // Answered once: again is a 409, and the audit log holds one entry by the analyst.
    expect((await respond(run.peid, { choice: 'reject' })).status).toBe(409);
    const audit = await api('GET', '/audit', { token: h.tokenA, query: { action: 'approval.respond' } });
    const entries = (audit.body as { items: Array<{ actor: string; target: string; details: unknown }> }).items;
    expect(entries.filter((e) => e.target === `execution:${run.peid}`)).toEqual([
      expect.objectContaining({
        actor: 'analyst-a',
        details: { task_id: 'approve', attempt: 1, choice: 'approve', comment: true },
      }),
    ]);
  });

  it('approvers: only the named subs may answer (403 for another analyst of the tenant)', async () => {
    const run = await approvalRun({ approvers: ['analyst-a2'] });
    const refused = await respond(run.peid, { choice: 'approve' }, tokenOutsider);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await respond(run.peid, { choice: 'approve' }, h.tokenA)).status).toBe(403);
    expect((await stored(run.peid)).status).toBe('waiting');
    const ok = await respond(run.peid, { choice: 'reject' }, tokenA2);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ approvers: ['analyst-a2'], answer: { by: 'analyst-a2', choice: 'reject' } });
  });

  it('400 naming the field for a choice not offered, a long comment or an unknown field; nothing recorded', async () => {
    const run = await approvalRun({ choices: ['isolate', 'monitor'] });
    const cases: Array<[unknown, string]> = [
      [{ choice: 'approve' }, 'choice'],
      [{ choice: 'isolate', comment: 'x'.repeat(1001) }, 'comment'],
      [{ choice: 'isolate', by: 'someone' }, 'by'],
      [{}, 'choice'],
      [{ choice: 7 }, 'choice'],
    ];
    for (const [body, path] of cases) {
      const res = await respond(run.peid, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({
        error: { code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path })] },
      });
    }
    const notJson = await api('POST', `/executions/${run.peid}/tasks/approve/respond`, {
      token: h.tokenA,
      rawBody: '{',
    });
    expect(notJson.status).toBe(400);
    const after = await stored(run.peid);
    expect(after.status).toBe('waiting');
    expect(after.approval?.answer).toBeNull();
    expect((await respond(run.peid, { choice: 'monitor', comment: 'x'.repeat(1000) })).status).toBe(200);
  });

  it("404 for an unknown run or task and for another tenant's; 409 for a task that is not an approval or not waiting", async () => {
    const run = await approvalRun();
    expect((await respond('7d5e2c1a-0000-4000-8000-000000000001', { choice: 'approve' })).status).toBe(404);
    expect((await respond(run.peid, { choice: 'approve' }, h.tokenA, 'nope')).status).toBe(404);
    const other = await respond(run.peid, { choice: 'approve' }, h.tokenB);
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const noop = await respond(run.peid, { choice: 'approve' }, h.tokenA, 'block');
    expect(noop.status).toBe(409);
    const pending = await approvalRun({ state: 'pending' });
    expect((await respond(pending.peid, { choice: 'approve' })).status).toBe(409);
    // Past its deadline (the timer has not fired yet): only the timeout may answer now.
    const late = await approvalRun({ since: Date.now() - 120_000, until: Date.now() - 1 });
    expect((await respond(late.peid, { choice: 'approve' })).status).toBe(409);
    expect((await api('GET', `/callbacks/${late.token}`)).status).toBe(404);
    expect((await stored(late.peid)).status).toBe('waiting');
    expect((await respond(run.peid, { choice: 'approve' })).status).toBe(200);
  });
});

describe('an answer by callback token (no JWT)', () => {
  it('the page shows the question; the form post records the answer by `callback` and says what was recorded', async () => {
    const run = await approvalRun();
    const page = await api('GET', `/callbacks/${run.token}`);
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
    const html = page.body as string;
    expect(html).toContain('Block 203.0.113.7?');
    expect(html).toContain('<button type="submit" name="choice" value="reject">reject</button>');
    // Opening the page changes nothing.
    expect((await stored(run.peid)).status).toBe('waiting');

    const posted = await form(run.token, { comment: 'not during the freeze', choice: 'reject' });
    expect(posted.status).toBe(200);
    expect(posted.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(posted.body).toContain('<dd>reject</dd>');
    expect(posted.body).toContain('<dd>not during the freeze</dd>');
    const task = await stored(run.peid);
    expect(task.approval?.answer).toMatchObject({ choice: 'reject', by: 'callback', comment: 'not during the freeze' });

    // Spent: the page, the form and JSON all answer 404 now; so does a JWT answer (409).
    const again = await api('GET', `/callbacks/${run.token}`);
    expect(again.status).toBe(404);
    expect(again.body).toContain('This link is not valid');
    expect((await form(run.token, { choice: 'approve' })).status).toBe(404);
    const json = await api('POST', `/callbacks/${run.token}`, { body: { choice: 'approve' } });
    expect(json.status).toBe(404);
    expect(json.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await respond(run.peid, { choice: 'approve' })).status).toBe(409);

    const p = h.poller().start();
    const done = await h.waitFinished(run.peid);
    await p.stop();
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'approve')?.output).toMatchObject({ choice: 'reject', by: 'callback' });
    expect(done.tasks.find((t) => t.task_id === 'block')?.status).toBe('skipped');
  });

  it('a JSON body is answered with JSON; a bad answer is a 400 and leaves the token valid', async () => {
    const run = await approvalRun();
    const bad = await api('POST', `/callbacks/${run.token}`, { body: { choice: 'maybe' } });
    expect(bad.status).toBe(400);
    expect(bad.headers['cache-control']).toBe('no-store');
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: [{ path: 'choice' }] } });
    const badForm = await form(run.token, { choice: 'approve', choice2: 'x' });
    expect(badForm.status).toBe(400);
    expect(badForm.body).toContain('Answer not recorded');
    const twice = await api('POST', `/callbacks/${run.token}`, {
      rawBody: 'choice=approve&choice=reject',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(twice.status).toBe(400);
    const ok = await api('POST', `/callbacks/${run.token}`, { body: { choice: 'approve' } });
    expect(ok.status).toBe(200);
    expect(ok.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    expect(ok.body).toMatchObject({ status: 'queued', answer: { choice: 'approve', by: 'callback', comment: null } });
  });

  it('any token that is not valid now is the same 404, never a 401 or 403', async () => {
    const run = await approvalRun();
    const expired = await approvalRun({ since: Date.now() - 120_000, until: Date.now() - 1 });
    const forged = `${run.token.slice(0, 42)}${run.token.endsWith('A') ? 'B' : 'A'}`;
    for (const token of [forged, 'short', `${run.token}x`, 'x'.repeat(43), expired.token, '%00', '..']) {
      for (const res of [
        await api('GET', `/callbacks/${encodeURIComponent(token)}`),
        await api('POST', `/callbacks/${encodeURIComponent(token)}`, { body: { choice: 'approve' } }),
        await form(encodeURIComponent(token), { choice: 'approve' }),
      ]) {
        expect(res.status, token).toBe(404);
      }
    }
    // A cancelled run's token dies with it.
    expect((await api('POST', `/executions/${run.peid}/cancel`, { token: h.tokenA })).status).toBe(202);
    expect((await stored(run.peid)).status).toBe('cancelled');
    expect((await api('GET', `/callbacks/${run.token}`)).status).toBe(404);
    expect((await respond(run.peid, { choice: 'approve' })).status).toBe(409);
  });
});

describe('a redriven approval asks again', () => {
  it('an answer given before the run was cancelled is not reused: the redriven task waits for a new one', async () => {
    const run = await approvalRun();
    expect((await respond(run.peid, { choice: 'approve' })).status).toBe(200);
    expect((await api('POST', `/executions/${run.peid}/cancel`, { token: h.tokenA })).status).toBe(202);
    expect((await stored(run.peid)).status).toBe('cancelled');
    const redriven = await api('POST', `/executions/${run.peid}/redrive`, { token: h.tokenA });
    expect(redriven.status, JSON.stringify(redriven.body)).toBe(202);
    const reset = await stored(run.peid);
    expect(reset.status).toBe('queued');
    expect(reset.attempts).toBe(0);
    // No answer, no question, no wait of the earlier attempt is left on it.
    expect(reset.approval).toBeUndefined();
    expect(reset.wait).toBeUndefined();
  });
});

describe('GET /approvals', () => {
  it("lists the tenant's open questions oldest first, pages with `after`, never another tenant's or a token", async () => {
    const base = Date.now() - 3_600_000;
    const runs: ApprovalRun[] = [];
    for (let i = 0; i < 5; i++) runs.push(await approvalRun({ playbook_name: 'listed', since: base + i * 1_000 }));
    const theirs = await approvalRun({ tenant_code: 'tenant-b', since: base - 1_000 });
    await respond(runs[2]?.peid as string, { choice: 'approve' });
    const seen: Array<{ peid: string; created_at: number }> = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await api('GET', '/approvals', {
        token: h.tokenA,
        query: { status: 'waiting', limit: '2', ...(after ? { after } : {}) },
      });
      expect(res.status).toBe(200);
      const body = res.body as { items: Array<{ peid: string; created_at: number }>; next: string | null };
      seen.push(...body.items);
      if (!body.next) break;
      after = body.next;
    }
    const mine = seen.filter((i) => runs.some((r) => r.peid === i.peid));
    expect(mine.map((i) => i.peid)).toEqual([0, 1, 3, 4].map((i) => runs[i]?.peid));
    expect(seen.map((i) => i.created_at)).toEqual([...seen.map((i) => i.created_at)].sort((a, b) => a - b));
    expect(seen[0]).toEqual({
      peid: runs[0]?.peid,
      task_id: 'approve',
      playbook_name: 'listed',
      prompt: 'Block 203.0.113.7?',
      choices: ['approve', 'reject'],
      approvers: null,
      expires_at: expect.any(Number),
      created_at: base,
    });
    const text = JSON.stringify(seen);
    for (const r of [...runs, theirs]) expect(text).not.toContain(r.token);
    expect(text).not.toContain(theirs.peid);
    const b = await api('GET', '/approvals', { token: h.tokenB });
    expect((b.body as { items: Array<{ peid: string }> }).items.map((i) => i.peid)).toEqual([theirs.peid]);
    const bad: Array<Record<string, string>> = [
      { status: 'answered' },
      { limit: '0' },
      { after: 'nope' },
      { before: 'x' },
    ];
    for (const query of bad) {
      expect((await api('GET', '/approvals', { token: h.tokenA, query })).status, JSON.stringify(query)).toBe(400);
    }
  });

  it('the token is stored only as its hash and is in no answer of the API', async () => {
    const run = await approvalRun();
    const docs = await db.collection(COLLECTIONS.tasks).find({ peid: run.peid }).toArray();
    const hash = (await stored(run.peid)).approval?.token_hash as string;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(docs)).not.toContain(run.token);
    expect(JSON.stringify(docs)).toContain(hash);
    const execution = await api('GET', `/executions/${run.peid}`, { token: h.tokenA });
    const answered = await respond(run.peid, { choice: 'approve' });
    const list = await api('GET', '/approvals', { token: h.tokenA });
    for (const res of [execution, answered, list]) {
      expect(JSON.stringify(res.body)).not.toContain(run.token);
      expect(JSON.stringify(res.body)).not.toContain(hash);
    }
  });
});

describe('exactly one answer wins', () => {
  it('two analysts, a callback, the timeout and a cancellation at once, 12 times: one answer recorded, by its winner', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 12; round++) {
      const run = await approvalRun({ on_timeout: 'reject' });
      const ref = { tenant_code: run.tenant_code, peid: run.peid, task_id: run.task_id };
      // The timeout sees its deadline reached (a virtual clock): every contender is eligible at once.
      const timeoutDeps = { ...waitDeps(), clock: () => run.until };
      const message = timerMessage({ ...ref, attempt: 1, kind: 'approval_timeout' });
      const contenders = [
        respond(run.peid, { choice: 'approve', comment: 'a' }).then((r) => ['analyst-a', r.status] as const),
        respond(run.peid, { choice: 'reject', comment: 'a2' }, tokenA2).then((r) => ['analyst-a2', r.status] as const),
        api('POST', `/callbacks/${run.token}`, { body: { choice: 'approve' } }).then(
          (r) => ['callback', r.status] as const,
        ),
        handleTimerMessage(timeoutDeps, message).then((o) => ['timeout', o === 'applied' ? 200 : 409] as const),
        api('POST', `/executions/${run.peid}/cancel`, { token: h.tokenA }).then((r) => ['cancel', r.status] as const),
      ];
      const results = await Promise.all(round % 2 === 0 ? contenders : contenders.reverse());
      const winners = results.filter(([who, status]) => who !== 'cancel' && status === 200).map(([who]) => who);
      const losers = results.filter(([who, status]) => who !== 'cancel' && status !== 200);
      const task = await stored(run.peid);
      const answer = task.approval?.answer;
      expect(winners.length, JSON.stringify(results)).toBeLessThanOrEqual(1);
      if (answer) {
        expect(winners).toEqual([answer.by]);
        expect(['queued', 'cancelled']).toContain(task.status);
      } else {
        expect(winners).toEqual([]);
        expect(task.status).toBe('cancelled');
      }
      // Losers: analysts 409, the callback 404, the timeout found nothing to do.
      for (const [who, status] of losers) expect(status, who).toBe(who === 'callback' ? 404 : 409);
      expect(results.find(([who]) => who === 'cancel')?.[1]).toBe(202);
      outcomes.push(answer?.by ?? 'cancel');
    }
    // Not a proof of fairness, only that the rounds were real races (logged for the record).
    console.info(`race winners: ${outcomes.join(', ')}`);
  });
});
