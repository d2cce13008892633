/**
 * The SSRF guard end to end, in a deployed stage (STAGE=prod) whose allow-list holds
 * 127.0.0.1 only: http tasks run through the real executeTask refuse loopback, private
 * and link-local targets in every notation (the metadata address and its IPv6 forms),
 * names whose DNS answer is private (`localhost`), and targets injected by the alert;
 * redirects are not followed (the task sees the 3xx, the private target gets nothing).
 * A refusal fails the task at once (not retried), and no request reaches the target.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';
import { waitSettled } from './support/fixtures.js';

// Before the config is first read (a test file has its own module graph).
process.env.STAGE = 'prod';
process.env.INTEGRATION_ALLOWED_HOSTS = '127.0.0.1';
// A deployed stage requires rediss://; the local Redis speaks plain TCP (this test is about SSRF).
process.env.REDIS_ALLOW_PLAINTEXT = 'true';

let h: Harness;
let port = 0;
let n = 0;

beforeAll(async () => {
  h = await createHarness();
  port = Number(new URL(h.stub.url).port);
});
afterAll(async () => h.close());

/** Runs a one-task playbook calling `url` (with retries allowed) and returns the task. */
async function runHttp(url: string, alert: Record<string, unknown> = {}) {
  const name = `ssrf-${++n}`;
  await h.createPlaybook({
    name,
    tasks: [
      {
        id: 'call',
        type: 'http',
        retry: { max_attempts: 3, backoff_ms: 0, max_backoff_ms: 0 },
        config: { method: 'GET', url },
      },
    ],
  });
  const e = await waitSettled(h, await h.startRun(name, alert));
  return { e, task: e.tasks[0] };
}

describe('SSRF guard outside the local stage', () => {
  it('refuses loopback, private and link-local targets in every notation; nothing reaches the stub', async () => {
    const poller = h.poller({ maxConcurrency: 4 }).start();
    try {
      const targets = [
        // the stub itself, by a name whose DNS answer is loopback, and by other loopback addresses
        `http://localhost:${port}/ok/leak`,
        `http://LOCALHOST:${port}/ok/leak`,
        `http://127.0.0.2:${port}/ok/leak`,
        `http://127.2:${port}/ok/leak`,
        `http://[::ffff:127.0.0.1]:${port}/ok/leak`,
        `http://[::1]:${port}/ok/leak`,
        `http://0.0.0.0:${port}/ok/leak`,
        // cloud metadata and private ranges
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        'http://[::ffff:169.254.169.254]/latest/meta-data/',
        'http://[::ffff:a9fe:a9fe]/latest/meta-data/',
        'http://[fd00:ec2::254]/latest/meta-data/',
        'http://[::169.254.169.254]/latest/meta-data/',
        'http://0xa9fea9fe/latest/meta-data/',
        'http://169.254.170.2/v2/credentials',
        'http://10.0.0.1/',
        'http://172.16.0.1/',
        'http://192.168.0.1/',
        'http://100.100.100.200/',
        'http://[fe80::1]/',
      ];
      const results = await Promise.all(targets.map((url) => runHttp(url).then((r) => ({ url, ...r }))));
      for (const { url, e, task } of results) {
        expect(e.execution_status, url).toBe('failed');
        expect(task?.status, url).toBe('failed');
        expect(task?.error?.code, `${url}: ${JSON.stringify(task?.error)}`).toBe('TARGET_BLOCKED');
        // A refusal is final: one attempt, no retry.
        expect(task?.attempts, url).toBe(1);
      }
      expect(h.stub.callsTo('/ok/leak')).toHaveLength(0);
    } finally {
      await poller.stop();
    }
  });

  it('refuses a target the alert injects into the url template', async () => {
    const poller = h.poller().start();
    try {
      for (const callback of [`http://localhost:${port}/ok/alert-leak`, 'http://169.254.169.254/latest/user-data']) {
        const { task } = await runHttp('{{ alert.callback }}', { callback });
        expect(task?.error?.code, callback).toBe('TARGET_BLOCKED');
      }
      expect(h.stub.callsTo('/ok/alert-leak')).toHaveLength(0);
    } finally {
      await poller.stop();
    }
  });

  it('does not follow redirects: the task sees the 3xx, the private target gets no request', async () => {
    const poller = h.poller().start();
    try {
      for (const code of [301, 302, 303, 307, 308]) {
        for (const to of [`http://localhost:${port}/ok/redirect-target`, 'http://169.254.169.254/latest/meta-data/']) {
          const { e, task } = await runHttp(`http://127.0.0.1:${port}/redirect/${code}?to=${encodeURIComponent(to)}`);
          expect(e.execution_status).toBe('completed');
          expect(task?.output).toMatchObject({ status: code, body: { redirect: to } });
        }
      }
      expect(h.stub.callsTo('/redirect/')).toHaveLength(10);
      expect(h.stub.callsTo('/ok/redirect-target')).toHaveLength(0);
    } finally {
      await poller.stop();
    }
  });

  it('the allow-list lets a listed private host through (matched after URL normalization)', async () => {
    const poller = h.poller().start();
    try {
      // 127.1, 2130706433 and 0x7f.0.0.1 are the URL parser's spellings of the listed 127.0.0.1.
      for (const host of ['127.0.0.1', '127.1', '2130706433', '0x7f.0.0.1']) {
        const { e, task } = await runHttp(`http://${host}:${port}/ok/allowed`);
        expect(e.execution_status, host).toBe('completed');
        expect(task?.output, host).toMatchObject({ status: 200 });
      }
      expect(h.stub.callsTo('/ok/allowed')).toHaveLength(4);
    } finally {
      await poller.stop();
    }
  });
});
