/**
 * The approval page in a real browser (Debian's chromium, driven by playwright-core), served by
 * `npm start`: a run started through the API reaches its approval task on the local consumer,
 * which notifies the local stub with the callback link; an analyst opens that link, reads the
 * prompt, writes a comment, clicks a choice and sees what was recorded; the run then continues on
 * the local consumer to completion (the block call made). Screenshots land in test-output/e2e/
 * (ignored by git).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTimerStore } from '../../lib/adapters/mongo/timer-store.js';
import { armAt, timerId } from '../../lib/domain/timers.js';
import { timerMessage } from '../../lib/engine/timers.js';
import { stackEndpoints } from '../../scripts/lib/stack/index.mjs';
import { mintToken } from '../../scripts/lib/token.js';
import { BOOT_TIMEOUT_MS, call, LAMBDA, NpmStart, ROOT, SECRET, STUB, sleep } from './support/npm-start.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = path.join(ROOT, 'test-output', 'e2e');
const tenant = `e2e-approval-${Date.now().toString(36)}`;

let npm: NpmStart;
let mongo: MongoClient;
let browser: Browser;
let token: string;

/** The playbook: a threat-intel lookup, the question (notified to the local stub), the block. */
const PLAYBOOK = {
  name: 'approve-then-block',
  tasks: [
    { id: 'lookup', type: 'http', config: { method: 'GET', url: `${STUB}/intel/ip/{{ alert.src_ip }}` } },
    {
      id: 'approve',
      type: 'approval',
      depends_on: ['lookup'],
      config: {
        prompt: 'Block {{ alert.src_ip }}? threat score {{ tasks.lookup.output.body.score }}',
        timeout_seconds: 3_600,
        on_timeout: 'reject',
        notify: {
          method: 'POST',
          url: `${STUB}/delay/0?group=${tenant}`,
          body: { text: '{{ approval.prompt }}: {{ approval.callback_url }}' },
        },
      },
    },
    {
      id: 'block',
      type: 'http',
      depends_on: ['approve'],
      run_if: "tasks.approve.output.choice = 'approve'",
      config: { method: 'POST', url: `${STUB}/firewall/block`, body: { ip: '{{ alert.src_ip }}' } },
    },
  ],
};

interface RunView {
  execution_status: string;
  tasks: Array<{ task_id: string; status: string; output: unknown }>;
}

/** Polls the run until `done` holds; its last view. */
async function runUntil(peid: string, done: (v: RunView) => boolean): Promise<RunView> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const got = await call('GET', `/executions/${peid}`, { token });
    expect(got.status).toBe(200);
    const view = got.body as RunView;
    if (done(view)) return view;
    if (Date.now() > deadline)
      throw new Error(`run not there yet: ${JSON.stringify(view)}\n${npm.output.slice(-3000)}`);
    await sleep(300);
  }
}

/** The callback link in the notification the local stub received for this tenant's approval. */
async function notifiedLink(): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${STUB}/calls?group=${tenant}`);
    const { calls } = (await res.json()) as { calls: Array<{ body: { text?: string } }> };
    const text = calls[0]?.body?.text;
    if (calls.length > 0) {
      expect(calls).toHaveLength(1);
      const link = /(http\S+\/callbacks\/[A-Za-z0-9_-]{43})$/.exec(text ?? '')?.[1];
      if (!link) throw new Error(`no link in the notification: ${JSON.stringify(text)}`);
      return link;
    }
    if (Date.now() > deadline) throw new Error(`no notification\n${npm.output.slice(-3000)}`);
    await sleep(300);
  }
}

describe('the approval page in a browser (npm start, headless chromium)', () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    npm = await NpmStart.boot();
    token = await mintToken(SECRET, { tenant, sub: 'e2e-analyst' });
    mongo = new MongoClient(stackEndpoints().mongoUri);
    await mongo.connect();
    // Root (CI containers) cannot use chromium's sandbox.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, BOOT_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    await mongo?.close();
    await npm?.kill();
  }, 90_000);

  it('a run reaches its approval; the link from the notification is opened, a choice clicked, the run continues', async () => {
    expect((await call('POST', '/playbooks', { token, body: PLAYBOOK })).status).toBe(201);
    const started = await call('POST', '/runplaybook', {
      token,
      body: { playbook_name: PLAYBOOK.name, alert_id: 'e2e-approval', alert: { src_ip: '203.0.113.7' } },
    });
    expect(started.status).toBe(202);
    const peid = (started.body as { peid: string }).peid;
    const waiting = await runUntil(peid, (v) => v.tasks.some((t) => t.task_id === 'approve' && t.status === 'waiting'));
    expect(waiting.execution_status).toBe('running');
    const link = await notifiedLink();
    const origin = new URL(link).origin;

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));

    const res = await page.goto(link);
    expect(res?.status()).toBe(200);
    const headers = res?.headers() ?? {};
    expect(headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(await page.textContent('h1')).toBe('Approval requested');
    expect(await page.textContent('.prompt')).toBe('Block 203.0.113.7? threat score 95');
    // The inline style sheet is allowed by its hash (a blocked one would be a CSP console error).
    // (Runs in the browser: the DOM's getComputedStyle, typed here without the DOM library.)
    const maxWidth = await page.$eval(
      'main',
      (el) =>
        (globalThis as unknown as { getComputedStyle(e: unknown): { maxWidth: string } }).getComputedStyle(el).maxWidth,
    );
    expect(maxWidth).toBe('640px');
    expect(await page.$$eval('button', (bs) => bs.map((b) => b.textContent))).toEqual(['approve', 'reject']);
    await page.screenshot({ path: path.join(OUT, 'approval-page.png'), fullPage: true });

    await page.fill('#comment', 'Known scanner <b>not</b> a customer');
    await Promise.all([page.waitForURL(link), page.click('button[value="approve"]')]);
    expect(await page.textContent('h1')).toBe('Answer recorded');
    const recorded = await page.$$eval('dd', (dds) => dds.map((d) => d.textContent));
    expect(recorded.slice(0, 2)).toEqual(['approve', 'Known scanner <b>not</b> a customer']);
    await page.screenshot({ path: path.join(OUT, 'approval-recorded.png'), fullPage: true });
    // Nothing was loaded from elsewhere, and the browser reported no error (no CSP violation).
    expect(requested.filter((u) => !u.startsWith(`${origin}/callbacks/`))).toEqual([]);
    expect(problems).toEqual([]);

    // The link is spent: opening it again is the 404 page.
    const again = await page.goto(link);
    expect(again?.status()).toBe(404);
    expect(await page.textContent('h1')).toBe('This link is not valid');

    // The run continues on npm start's consumer with the answer as the task's output.
    const view = await runUntil(peid, (v) => v.execution_status !== 'running');
    expect(view.execution_status).toBe('completed');
    expect(view.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['lookup', 'succeeded'],
      ['approve', 'succeeded'],
      ['block', 'succeeded'],
    ]);
    expect(view.tasks[1]?.output).toMatchObject({
      choice: 'approve',
      by: 'callback',
      comment: 'Known scanner <b>not</b> a customer',
    });
    expect(view.tasks[2]?.output).toMatchObject({ status: 200, body: { blocked: true, ip: '203.0.113.7' } });
  });

  it('fireTimers runs under npm start: invoked through the lambda port, it sends a due timer once, which the consumer completes', async () => {
    const timers = createTimerStore(mongo.db(process.env.MONGO_DB ?? 'playbook_service'));
    const spec = {
      tenant_code: tenant,
      peid: `e2e-timer-${Date.now()}`,
      task_id: 'wait',
      attempt: 1,
      kind: 'delay' as const,
    };
    const id = timerId(spec);
    const due = Date.now() - 1_000;
    await timers.put(
      {
        id,
        tenant_code: tenant,
        peid: spec.peid,
        kind: 'delay',
        due_at: due,
        message: timerMessage(spec),
        sweep_at: armAt(due),
      },
      Date.now(),
    );
    const invoke = () =>
      fetch(`${LAMBDA}/2015-03-31/functions/playbook-service-local-fireTimers/invocations`, {
        method: 'POST',
        body: readFileSync(path.join(ROOT, 'events', 'fireTimers.json'), 'utf8'),
      });
    const first = await invoke();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ due: expect.any(Number), sent: expect.any(Number), truncated: false });
    // Sent once, by this invocation or by the schedule's own (every minute under npm start); the
    // local consumer receives it and, finding no such task, completes it (`fired`).
    expect(await timers.get(id)).toMatchObject({ state: expect.stringMatching(/^(armed|fired)$/), sends: 1 });
    expect((await invoke()).status).toBe(200);
    expect(await timers.get(id)).toMatchObject({ sends: 1 });
    const deadline = Date.now() + 30_000;
    while ((await timers.get(id))?.state !== 'fired' && Date.now() < deadline) await sleep(300);
    expect(await timers.get(id)).toMatchObject({ state: 'fired', sends: 1 });
  });
});
