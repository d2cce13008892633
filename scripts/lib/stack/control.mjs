// The stack's public operations: up, down, status.

import { HOST, SERVER_NAMES, StackError } from './config.mjs';
import { externals, stackEndpoints } from './endpoints.mjs';
import { withLock } from './lock.mjs';
import { cmdline, findByMarker, isOurs, portAnswers, readPid, removePid, startTime, writePid } from './proc.mjs';
import { killPid, spawnServer, stopServer, waitReady, withLog } from './server-process.mjs';
import { serverDefs } from './servers.mjs';

/** @typedef {import('./config.mjs').ServerName} ServerName */
/** @typedef {import('./endpoints.mjs').StackEndpoints} StackEndpoints */
/** @typedef {import('./servers.mjs').ServerDef} ServerDef */
/** @typedef {import('./proc.mjs').PidRecord} PidRecord */

/**
 * @typedef {object} StackUpResult
 * @property {StackEndpoints} endpoints
 * @property {ServerName[]} started   started by this call
 * @property {ServerName[]} running   already running (ours)
 * @property {ServerName[]} external  env override set; not started
 * @property {number} ms
 */

/**
 * Starts every local server that is not running yet and waits until each answers. Idempotent and
 * serialised by a lock file, so concurrent callers are fine. On failure the servers started by
 * this call are stopped again and a StackError naming the server (with its log tail) is thrown.
 * @param {{ quiet?: boolean }} [opts]
 * @returns {Promise<StackUpResult>}
 */
export async function stackUp(opts = {}) {
  const log = opts.quiet ? () => {} : (/** @type {string} */ m) => console.log(`[stack] ${m}`);
  const t0 = Date.now();
  const defs = serverDefs();
  const ext = externals();
  /** @type {StackUpResult} */
  const result = { endpoints: stackEndpoints(), started: [], running: [], external: [], ms: 0 };

  await withLock(async () => {
    /** @type {ServerDef[]} */
    const toStart = [];
    for (const name of SERVER_NAMES) {
      const def = defs[name];
      if (ext[name]) {
        result.external.push(name);
        continue;
      }
      const rec = readPid(name);
      if (isOurs(rec) && rec?.port === def.port) {
        if (await portAnswers(def.port)) {
          result.running.push(name);
          continue;
        }
        // Ours but not answering (still starting under another caller, or wedged): restart.
        await killPid(/** @type {PidRecord} */ (rec).pid);
      } else if (isOurs(rec)) {
        // Running on a different port than now configured: stop it.
        await stopServer(def);
      }
      removePid(name);
      // Pid file lost but our process is alive (e.g. .stack/pids removed): adopt it.
      const adopted = findByMarker(name).filter((pid) => def.match.every((m) => cmdline(pid).includes(m)));
      if (adopted.length === 1 && (await portAnswers(def.port))) {
        const pid = /** @type {number} */ (adopted[0]);
        writePid(name, {
          pid,
          port: def.port,
          startTime: startTime(pid) ?? '',
          match: def.match,
          startedAt: 'adopted',
        });
        result.running.push(name);
        continue;
      }
      for (const pid of adopted) await killPid(pid);
      if (await portAnswers(def.port)) {
        throw new StackError(
          `${name}: port ${HOST}:${def.port} is already in use by a process this stack did not start. ` +
            `Free it, choose another port (${name === 'dynamodb' ? 'DYNAMODB' : name.toUpperCase()}_PORT) or point ` +
            `${{ mongo: 'MONGO_URI', sqs: 'SQS_ENDPOINT', redis: 'REDIS_URL', dynamodb: 'DYNAMODB_ENDPOINT' }[name]} at it.`,
          { server: name },
        );
      }
      toStart.push(def);
    }

    // The already-running SQS must also have its queues (cheap raw JSON call).
    if (result.running.includes('sqs')) {
      try {
        await defs.sqs.ready();
      } catch (err) {
        throw withLog(
          new StackError(`sqs is running but not healthy: ${/** @type {Error} */ (err).message}`, { server: 'sqs' }),
          defs.sqs,
        );
      }
    }
    if (toStart.length === 0) return;

    for (const def of toStart) def.prepare?.(log);
    log(`starting ${toStart.map((d) => d.name).join(', ')} ...`);
    const spawned = toStart.map((def) => ({ def, ...spawnServer(def) }));
    result.started.push(...toStart.map((d) => d.name));
    const outcomes = await Promise.allSettled(
      spawned.map(async ({ def, pid, state }) => {
        const t = Date.now();
        await waitReady(def, pid, state);
        await def.setup?.();
        log(`${def.name.padEnd(8)} ready in ${Date.now() - t} ms  pid ${pid}  ${def.endpoint}`);
      }),
    );
    const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    if (failed.length > 0) {
      for (const { def } of spawned) await stopServer(def);
      result.started = [];
      const msg = failed.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n');
      throw new StackError(`local stack failed to start:\n${msg}`, {
        server: failed[0]?.server,
        stopped: spawned.map(({ def }) => def.name),
      });
    }
  });

  result.ms = Date.now() - t0;
  if (result.running.length > 0) log(`already running: ${result.running.join(', ')}`);
  if (result.external.length > 0) log(`external (not started): ${result.external.join(', ')}`);
  log(`stack up in ${result.ms} ms`);
  return result;
}

/**
 * Stops the servers this stack started (verified by PID, start time and command line);
 * `only` limits it to some of them (e.g. those one `stackUp()` call started).
 * @param {{ quiet?: boolean, only?: ServerName[] }} [opts]
 * @returns {Promise<{ stopped: ServerName[] }>}
 */
export async function stackDown(opts = {}) {
  const log = opts.quiet ? () => {} : (/** @type {string} */ m) => console.log(`[stack] ${m}`);
  const defs = serverDefs();
  /** @type {ServerName[]} */
  const stopped = [];
  await withLock(async () => {
    const names = SERVER_NAMES.filter((n) => opts.only === undefined || opts.only.includes(n));
    const outcomes = await Promise.all(names.map(async (name) => [name, await stopServer(defs[name])]));
    for (const [name, outcome] of outcomes) {
      if (outcome === 'stopped') stopped.push(/** @type {ServerName} */ (name));
      if (outcome === 'stale') log(`${name}: removed stale pid file`);
    }
  });
  log(stopped.length > 0 ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
  return { stopped };
}

/**
 * @typedef {object} ServerStatus
 * @property {ServerName} name
 * @property {'running' | 'stopped' | 'external' | 'not-answering'} state
 * @property {number} [pid]
 * @property {string} endpoint
 */

/** @returns {Promise<ServerStatus[]>} */
export async function stackStatus() {
  const defs = serverDefs();
  const ext = externals();
  return Promise.all(
    SERVER_NAMES.map(async (name) => {
      const def = defs[name];
      if (ext[name]) return { name, state: /** @type {const} */ ('external'), endpoint: def.endpoint };
      const rec = readPid(name);
      if (rec && isOurs(rec)) {
        const answers = await portAnswers(rec.port);
        return { name, state: answers ? 'running' : 'not-answering', pid: rec.pid, endpoint: def.endpoint };
      }
      // Pid file lost (e.g. .stack/pids removed) but our marked process still runs.
      const [pid] = findByMarker(name);
      if (pid !== undefined) {
        const answers = await portAnswers(def.port);
        return { name, state: answers ? 'running' : 'not-answering', pid, endpoint: def.endpoint };
      }
      return { name, state: /** @type {const} */ ('stopped'), endpoint: def.endpoint };
    }),
  );
}

/** @param {ServerStatus} s */
export function formatStatus(s) {
  const state = s.state === 'running' || s.state === 'not-answering' ? `${s.state} pid ${s.pid}` : s.state;
  return `${s.name.padEnd(9)} ${state.padEnd(24)} ${redact(s.endpoint)}`;
}

/** Hides the password of a URL with credentials (external MONGO_URI / REDIS_URL). @param {string} url */
export function redact(url) {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
