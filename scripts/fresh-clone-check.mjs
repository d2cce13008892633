#!/usr/bin/env node
// The README's first session on a fresh clone, for CI: clones this repository's HEAD into a temporary
// folder (no node_modules), runs `npm start` there until it is ready (it installs the dependencies
// itself), checks GET /health, mints a token with `npm run token`, creates the sample playbook, runs
// it to completion, then stops `npm start` with SIGINT to its PID and checks that it exits 0 and
// frees its ports. The emulator jars are copied from this checkout's .cache/ when present (Maven
// Central is then not asked again); the clone's local stack runs on ports of its own
// (FRESH_CLONE_PORT_BASE, default 27300: MongoDB base, SQS +1, Redis +2, DynamoDB +3).
// Uses ports 3000, 3002 and 3010 like any `npm start`. Exit code 0 when everything worked.

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const API = 'http://127.0.0.1:3000';
const READY_TIMEOUT_MS = 600_000;
const base = Number(process.env.FRESH_CLONE_PORT_BASE ?? 27300);

/** @param {string} m */
const log = (m) => console.log(`[fresh-clone] ${m}`);
/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {number} port @returns {Promise<boolean>} */
function portOpen(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setTimeout(500, () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const dir = mkdtempSync(path.join(tmpdir(), 'playbook-service-clone-'));
const logPath = path.join(dir, '..', `${path.basename(dir)}.log`);
/** @type {import('node:child_process').ChildProcess | undefined} */
let npm;
/** @type {Promise<number | null> | undefined} */
let exited;

async function main() {
  execFileSync('git', ['clone', '-q', ROOT, dir], { stdio: 'inherit' });
  if (existsSync(path.join(dir, 'node_modules'))) throw new Error('the clone has a node_modules folder');
  if (existsSync(path.join(ROOT, '.cache', 'emulators', 'jars'))) {
    cpSync(path.join(ROOT, '.cache', 'emulators', 'jars'), path.join(dir, '.cache', 'emulators', 'jars'), {
      recursive: true,
    });
  }
  const env = {
    ...process.env,
    MONGO_PORT: String(base),
    SQS_PORT: String(base + 1),
    REDIS_PORT: String(base + 2),
    DYNAMODB_PORT: String(base + 3),
  };
  for (const k of ['MONGO_URI', 'SQS_ENDPOINT', 'REDIS_URL', 'DYNAMODB_ENDPOINT', 'TASK_QUEUE_URL', 'DLQ_URL']) {
    delete env[k];
  }
  const out = openSync(logPath, 'w');
  const t0 = Date.now();
  npm = spawn('npm', ['start'], { cwd: dir, env, stdio: ['ignore', out, out], detached: true });
  const child = npm;
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  log(`npm start in ${dir} (log ${logPath})`);

  for (;;) {
    if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode} before it was ready`);
    try {
      const res = await fetch(`${API}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok && readFileSync(logPath, 'utf8').includes('playbook-service is up')) break;
    } catch {
      // not yet
    }
    if (Date.now() - t0 > READY_TIMEOUT_MS) throw new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s`);
    await sleep(1_000);
  }
  const installed = /dependencies installed in ([\d.]+) s/.exec(readFileSync(logPath, 'utf8'));
  if (!installed) throw new Error('npm start did not install the dependencies of the fresh clone');
  log(`ready ${((Date.now() - t0) / 1000).toFixed(1)} s after \`npm start\` (npm ci ${installed[1]} s)`);

  const token = execFileSync('npm', ['run', '-s', 'token', '--', '--tenant', 'fresh', '--sub', 'ci'], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
  /** @param {string} method @param {string} p @param {unknown} [body] */
  const callApi = async (method, p, body) => {
    const res = await fetch(`${API}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, body: /** @type {any} */ (await res.json()) };
  };
  const sample = (/** @type {string} */ f) => JSON.parse(readFileSync(path.join(dir, 'events', 'payloads', f), 'utf8'));
  const created = await callApi('POST', '/playbooks', sample('playbook.json'));
  if (created.status !== 201) throw new Error(`POST /playbooks -> ${created.status} ${JSON.stringify(created.body)}`);
  const started = await callApi('POST', '/runplaybook', sample('run.json'));
  if (started.status !== 202) throw new Error(`POST /runplaybook -> ${started.status} ${JSON.stringify(started.body)}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = await callApi('GET', `/executions/${started.body.peid}`);
    if (run.body.execution_status === 'completed') break;
    if (run.body.execution_status !== 'running' || Date.now() > deadline) {
      throw new Error(`the sample run ended ${run.body.execution_status}: ${JSON.stringify(run.body)}`);
    }
    await sleep(200);
  }
  log('GET /health, the sample playbook and its run: ok');
}

/** SIGINT to the start script by its PID (printed first thing), as Ctrl-C would. */
async function stop() {
  const pid = Number(/\[start\] pid (\d+)/.exec(readFileSync(logPath, 'utf8'))?.[1]);
  if (!Number.isInteger(pid) || !npm || npm.exitCode !== null) return npm?.exitCode ?? null;
  process.kill(pid, 'SIGINT');
  const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout')]);
  if (code === 'timeout' && npm.pid !== undefined) {
    try {
      process.kill(-npm.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  return code;
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`[fresh-clone] FAILED: ${err instanceof Error ? err.message : err}`);
}
const code = await stop();
const busy = [];
for (const port of [3000, 3002, 3010, base, base + 1, base + 2, base + 3]) if (await portOpen(port)) busy.push(port);
if (code !== 0 || busy.length > 0) {
  failed = true;
  console.error(`[fresh-clone] npm start exit code ${code}; ports still open: ${busy.join(', ') || 'none'}`);
}
if (failed) {
  console.error(`--- last lines of ${logPath} ---\n${readFileSync(logPath, 'utf8').split('\n').slice(-60).join('\n')}`);
} else {
  log('stopped by SIGINT: exit code 0, its ports free');
}
rmSync(dir, { recursive: true, force: true });
rmSync(logPath, { force: true });
process.exit(failed ? 1 : 0);
