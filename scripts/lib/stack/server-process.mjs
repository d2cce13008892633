// Starting and stopping one server process of the stack.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HOST, LOG_DIR, ROOT, StackError } from './config.mjs';
import {
  findByMarker,
  isAlive,
  isOurs,
  logFile,
  mkdirp,
  portAnswers,
  readPid,
  removePid,
  sleep,
  startTime,
  tail,
  writePid,
} from './proc.mjs';

/** @typedef {import('./servers.mjs').ServerDef} ServerDef */
/** @typedef {import('./proc.mjs').PidRecord} PidRecord */

/** @param {ServerDef} def */
export function spawnServer(def) {
  mkdirp(LOG_DIR);
  const logPath = logFile(def.name);
  const fd = fs.openSync(logPath, 'w');
  fs.writeSync(fd, `# ${new Date().toISOString()} ${def.command} ${def.args.join(' ')}\n`);
  try {
    const child = spawn(def.command, def.args, {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env },
    });
    // spawn errors (ENOENT) arrive asynchronously; remember them for the health wait.
    /** @type {{ error?: Error }} */
    const state = {};
    child.once('error', (err) => {
      state.error = err;
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new StackError(`could not start ${def.name} (${def.command})`, { server: def.name });
    writePid(def.name, {
      pid,
      port: def.port,
      startTime: startTime(pid) ?? '',
      match: def.match,
      startedAt: new Date().toISOString(),
    });
    return { pid, state };
  } finally {
    fs.closeSync(fd);
  }
}

/** @param {ServerDef} def @param {number} pid @param {{ error?: Error }} state */
export async function waitReady(def, pid, state) {
  const deadline = Date.now() + def.timeoutMs;
  let lastErr = 'no answer yet';
  for (;;) {
    if (state.error) {
      lastErr = `spawn failed: ${state.error.message}`;
      break;
    }
    if (!isAlive(pid)) {
      lastErr = 'process exited';
      break;
    }
    if (await portAnswers(def.port, 300)) {
      try {
        await def.ready();
        return;
      } catch (err) {
        if (err instanceof StackError) throw withLog(err, def);
        lastErr = /** @type {Error} */ (err).message ?? String(err);
      }
    }
    if (Date.now() > deadline) {
      lastErr = `not ready within ${def.timeoutMs} ms (${lastErr})`;
      break;
    }
    await sleep(100);
  }
  throw withLog(
    new StackError(`${def.name} failed to start on ${HOST}:${def.port}: ${lastErr}`, { server: def.name }),
    def,
  );
}

/** @param {StackError} err @param {ServerDef} def */
export function withLog(err, def) {
  err.message += `\n--- last 30 lines of ${path.relative(ROOT, logFile(def.name))} ---\n${tail(logFile(def.name), 30)}`;
  return err;
}

/**
 * Kills a PID we started: SIGTERM, then SIGKILL after graceMs. Waits until it is gone.
 * @param {number} pid @param {number} [graceMs]
 */
export async function killPid(pid, graceMs = 5000) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const t0 = Date.now();
  while (isAlive(pid) && Date.now() - t0 < graceMs) await sleep(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    const t1 = Date.now();
    while (isAlive(pid) && Date.now() - t1 < 5000) await sleep(50);
  }
}

/** @param {number} port @param {number} timeoutMs */
async function waitPortFree(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (await portAnswers(port, 300)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** @param {ServerDef} def @returns {Promise<'stopped' | 'stale' | 'none'>} */
export async function stopServer(def) {
  const rec = readPid(def.name);
  /** @type {number[]} */
  const pids = [];
  if (isOurs(rec)) pids.push(/** @type {PidRecord} */ (rec).pid);
  for (const pid of findByMarker(def.name)) if (!pids.includes(pid)) pids.push(pid);
  for (const pid of pids) await killPid(pid);
  removePid(def.name);
  if (pids.length > 0) {
    await waitPortFree(rec?.port ?? def.port, 10_000);
    return 'stopped';
  }
  return rec ? 'stale' : 'none';
}
