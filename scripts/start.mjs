#!/usr/bin/env node
// `npm start`: the whole service on this machine, stage `local`.
//   0. Node, Java and Maven checked, dependencies installed when node_modules is missing (`npm ci`),
//      as `npm test` does (scripts/lib/prerequisites.mjs);
//   1. the local stack of real servers (scripts/lib/stack/), started if not running;
//   2. the database indexes (scripts/migrate.ts);
//   3. the integration stub on 127.0.0.1:3010 (scripts/local-stub.mjs), in this process;
//   4. `serverless offline start --stage local`: HTTP API on 127.0.0.1:3000, lambda port 3002, the
//      schedules, and the SQS consumers (executeTask, dlqHandler) fed as Lambda's event source
//      mapping does (tools/sqs-event-source/), invoked through the lambda port.
// Ctrl-C (SIGINT) or SIGTERM stops serverless offline (its node process, by PID), the stub and the
// stack servers this command started (none if the stack was already running, or with --keep-stack).
// A failed start says what it had started and stops it.
//
// Environment: AUTH_JWT_SECRET (default local-dev-secret), MONGO_DB (default playbook_service),
// LOCAL_STUB_PORT (3010), START_READY_TIMEOUT_MS (180000), LOCAL_SCHEDULE_RATE (see serverless.yml),
// and the stack's own variables.

import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ensurePrerequisites, PrerequisiteError } from './lib/prerequisites.mjs';

/** @param {string} m */
const log = (m) => console.log(`[start] ${m}`);

log(`pid ${process.pid}`);
try {
  const { installed, ms } = ensurePrerequisites({ log });
  if (installed) log(`dependencies installed in ${(ms / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(`[start] ERROR: ${err instanceof PrerequisiteError ? err.message : err}`);
  console.error('[start] nothing was started');
  process.exit(1);
}

const { ROOT, StackError, stackDown, stackEndpoints, stackUp } = await import('./lib/stack/index.mjs');
const { startLocalStub } = await import('./local-stub.mjs');

const HOST = '127.0.0.1';
const HTTP_PORT = 3000;
const LAMBDA_PORT = 3002;
const STUB_PORT = Number(process.env.LOCAL_STUB_PORT ?? 3010);
const READY_TIMEOUT_MS = Number(process.env.START_READY_TIMEOUT_MS ?? 180_000);
const keepStack = process.argv.includes('--keep-stack');

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {number} port @returns {Promise<boolean>} */
function portInUse(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
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

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------- state

/** @type {import('node:child_process').ChildProcess | undefined} */
let offline;
/** @type {{ url: string, close: () => Promise<void> } | undefined} */
let stub;
/** @type {import('./lib/stack/index.mjs').ServerName[]} */
let stackStarted = [];
/** @type {import('./lib/stack/index.mjs').StackUpResult | undefined} */
let stackResult;
/** @type {unknown} why stackUp() failed, when it did */
let stackFailure;
/** @type {Promise<unknown> | undefined} */
let stackStarting;
/** @type {Promise<void> | undefined} */
let stopping;

/**
 * Stops what this script started, in reverse order. Safe to call more than once.
 * @param {number} code exit code
 */
function shutdown(code) {
  stopping ??= (async () => {
    if (offline?.pid !== undefined && offline.exitCode === null && offline.signalCode === null) {
      const pid = offline.pid;
      log(`stopping serverless offline (pid ${pid}) ...`);
      const exited = new Promise((resolve) => offline?.once('exit', resolve));
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // already gone
      }
      const graceful = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!graceful && alive(pid)) {
        log(`serverless offline did not stop within 10 s; killing pid ${pid}`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
        await Promise.race([exited, sleep(5_000)]);
      }
    }
    if (stub) {
      await stub.close();
      log('stub stopped');
    }
    // A signal during stackUp(): let it finish, so the servers it is starting can be stopped.
    await stackStarting?.catch(() => undefined);
    for (const line of await stopStack()) log(line);
  })();
  return stopping.then(() => process.exit(code));
}

/**
 * Stops the stack servers this start started; says what it did with each part of the stack.
 * @returns {Promise<string[]>}
 */
async function stopStack() {
  if (stackFailure !== undefined) {
    const stopped = stackFailure instanceof StackError ? stackFailure.stopped : undefined;
    return [
      stopped && stopped.length > 0
        ? `local stack: failed to start; ${stopped.join(', ')} had been started and were stopped again`
        : 'local stack: failed to start; no server of it had been started',
    ];
  }
  if (stackResult === undefined) return ['local stack: not started'];
  const lines = [];
  if (stackStarted.length > 0 && keepStack) {
    lines.push(`local stack left running (--keep-stack): ${stackStarted.join(', ')}; \`npm run stack:down\` stops it`);
  } else if (stackStarted.length > 0) {
    await stackDown({ quiet: true, only: stackStarted });
    lines.push(`local stack servers stopped: ${stackStarted.join(', ')}`);
  }
  if (stackResult.running.length > 0) {
    lines.push(
      `local stack servers left running (they were running before \`npm start\`): ${stackResult.running.join(', ')}`,
    );
  }
  if (stackResult.external.length > 0) lines.push(`external services untouched: ${stackResult.external.join(', ')}`);
  return lines;
}

// Last resort if this script dies on an exception: never leave serverless offline behind.
process.on('exit', () => {
  if (offline?.pid !== undefined && offline.exitCode === null && offline.signalCode === null) {
    try {
      process.kill(offline.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    if (stopping) return;
    log(`${signal} received`);
    void shutdown(0);
  });
}

// ------------------------------------------------------------------------------------- start

async function main() {
  const busy = [];
  for (const port of [HTTP_PORT, LAMBDA_PORT, STUB_PORT]) if (await portInUse(port)) busy.push(port);
  if (busy.length > 0) {
    throw new Error(`port(s) ${busy.join(', ')} on ${HOST} already in use: is another \`npm start\` running?`);
  }

  // Quiet SDK notices for everything started from here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const starting = stackUp();
  stackStarting = starting;
  try {
    stackResult = await starting;
  } catch (err) {
    stackFailure = err;
    throw err;
  }
  stackStarted = stackResult.started;
  if (stopping) return;

  const ep = stackEndpoints();
  const inherited = { ...process.env };
  // Real AWS credentials of the shell never reach the local functions or emulators.
  for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN']) delete inherited[k];
  const env = {
    ...inherited,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: ep.region,
    MONGO_URI: ep.mongoUri,
    MONGO_DB: process.env.MONGO_DB ?? 'playbook_service',
    REDIS_URL: ep.redisUrl,
    SQS_ENDPOINT: ep.sqsEndpoint,
    DYNAMODB_ENDPOINT: ep.dynamodbEndpoint,
    TASK_QUEUE_URL: ep.taskQueueUrl,
    IDEMPOTENCY_TABLE: ep.idempotencyTable,
    AUTH_JWT_SECRET: process.env.AUTH_JWT_SECRET ?? 'local-dev-secret',
  };

  const migrate = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'migrate.ts')], {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  });
  if (migrate.status !== 0) throw new Error(`database migration failed (exit ${migrate.status})`);
  if (stopping) return;

  stub = await startLocalStub({ port: STUB_PORT, host: HOST });
  log(`integration stub on ${stub.url}`);

  // The serverless CLI's own node process (not npx), so its PID is the one to signal. Its own
  // process group: Ctrl-C reaches this script only, which then stops it in order.
  const cli = path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
  offline = spawn(process.execPath, [cli, 'offline', 'start', '--stage', 'local'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  log(`serverless offline pid ${offline.pid}`);
  offline.once('exit', (code, signal) => {
    if (stopping) return;
    log(`serverless offline exited (${signal ?? `code ${code}`})`);
    void shutdown(code === 0 ? 1 : (code ?? 1));
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (stopping) return;
    try {
      const res = await fetch(`http://${HOST}:${HTTP_PORT}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`GET /health did not answer within ${READY_TIMEOUT_MS} ms`);
    await sleep(250);
  }
  printBanner(stub.url);
}

/** @param {string} stubUrl */
function printBanner(stubUrl) {
  const api = `http://${HOST}:${HTTP_PORT}`;
  // Relative to where `npm start` was typed (npm runs scripts from the package root).
  const sample = (name) =>
    path.relative(process.env.INIT_CWD ?? process.cwd(), path.join(ROOT, 'events', 'payloads', name));
  const auth = '-H "Authorization: Bearer $TOKEN" -H "content-type: application/json"';
  console.log(`
playbook-service is up (stage local)
  HTTP API     ${api}          lambda invoke port http://${HOST}:${LAMBDA_PORT}
  stub         ${stubUrl}     GET /intel/ip/:ip, POST /firewall/block, /delay/:ms, GET /calls

  A token for tenant acme (HS256, AUTH_JWT_SECRET):
    TOKEN=$(npm run -s token -- --tenant acme --sub analyst1)

  Create the sample playbook (it calls the stub), then run it:
    curl -s -X POST ${api}/playbooks ${auth} -d @${sample('playbook.json')}
    curl -s -X POST ${api}/runplaybook ${auth} -d @${sample('run.json')}

  Follow the run (peid from the answer above):
    curl -s ${api}/executions/PEID -H "Authorization: Bearer $TOKEN"

Ctrl-C stops serverless offline, the stub${stackStarted.length > 0 && !keepStack ? ` and ${stackStarted.join(', ')}` : ''}.
`);
}

main().catch((err) => {
  console.error(`[start] ERROR: ${err instanceof StackError || err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
