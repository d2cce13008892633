/**
 * The approval page in a real browser (Debian's chromium, driven by playwright-core), served by
 * `npm start`: an analyst opens the callback link of a waiting approval, reads the prompt, writes
 * a comment, clicks a choice and sees what was recorded; the run then continues on the local
 * consumer to completion. The approval task is put in `waiting` directly in npm start's MongoDB
 * (test/support/waits.ts). Screenshots land in test-output/e2e/ (ignored by git).
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
import { type ApprovalRun, approvalRun } from '../support/waits.js';
import { API, BOOT_TIMEOUT_MS, call, LAMBDA, NpmStart, ROOT, SECRET, sleep } from './support/npm-start.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = path.join(ROOT, 'test-output', 'e2e');
const tenant = `e2e-approval-${Date.now().toString(36)}`;

let npm: NpmStart;
let mongo: MongoClient;
let browser: Browser;
let token: string;
let run: ApprovalRun;

describe('the approval page in a browser (npm start, headless chromium)', () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    npm = await NpmStart.boot();
    token = await mintToken(SECRET, { tenant, sub: 'e2e-analyst' });
    mongo = new MongoClient(stackEndpoints().mongoUri);
    await mongo.connect();
    run = await approvalRun({ db: mongo.db(process.env.MONGO_DB ?? 'playbook_service'), tenant_code: tenant });
    // Root (CI containers) cannot use chromium's sandbox.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, BOOT_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    await mongo?.close();
    await npm?.kill();
  }, 90_000);

  it('opens the link, clicks a choice, sees the answer recorded, and the run continues', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));

    const res = await page.goto(`${API}/callbacks/${run.token}`);
    expect(res?.status()).toBe(200);
    const headers = res?.headers() ?? {};
    expect(headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(await page.textContent('h1')).toBe('Approval requested');
    expect(await page.textContent('.prompt')).toBe('Block 203.0.113.7?');
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
    await Promise.all([page.waitForURL(`${API}/callbacks/${run.token}`), page.click('button[value="approve"]')]);
    expect(await page.textContent('h1')).toBe('Answer recorded');
    const recorded = await page.$$eval('dd', (dds) => dds.map((d) => d.textContent));
    expect(recorded.slice(0, 2)).toEqual(['approve', 'Known scanner <b>not</b> a customer']);
    await page.screenshot({ path: path.join(OUT, 'approval-recorded.png'), fullPage: true });
    // Nothing was loaded from elsewhere, and the browser reported no error (no CSP violation).
    expect(requested.filter((u) => !u.startsWith(`${API}/callbacks/`))).toEqual([]);
    expect(problems).toEqual([]);

    // The link is spent: opening it again is the 404 page.
    const again = await page.goto(`${API}/callbacks/${run.token}`);
    expect(again?.status()).toBe(404);
    expect(await page.textContent('h1')).toBe('This link is not valid');

    // The run continues on npm start's consumer with the answer as the task's output.
    let view:
      | { execution_status: string; tasks: Array<{ task_id: string; status: string; output: unknown }> }
      | undefined;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const got = await call('GET', `/executions/${run.peid}`, { token });
      expect(got.status).toBe(200);
      view = got.body as typeof view;
      if (view?.execution_status !== 'running') break;
      if (Date.now() > deadline)
        throw new Error(`run still running: ${JSON.stringify(view)}\n${npm.output.slice(-3000)}`);
      await sleep(300);
    }
    expect(view?.execution_status).toBe('completed');
    expect(view?.tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['approve', 'succeeded'],
      ['block', 'succeeded'],
    ]);
    expect(view?.tasks[0]?.output).toMatchObject({
      choice: 'approve',
      by: 'callback',
      comment: 'Known scanner <b>not</b> a customer',
    });
  });

  it('fireTimers runs under npm start: invoked through the lambda port, it sends a due timer once', async () => {
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
    // Sent once, by this invocation or by the schedule's own (every minute under npm start).
    expect(await timers.get(id)).toMatchObject({ state: 'armed', sends: 1 });
    expect((await invoke()).status).toBe(200);
    expect(await timers.get(id)).toMatchObject({ state: 'armed', sends: 1 });
  });
});
