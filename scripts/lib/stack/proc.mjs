// Small process and file helpers: /proc inspection, pid files, ports, Debian binaries.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HOST, LOG_DIR, MARKER, PID_DIR, StackError } from './config.mjs';

/** @typedef {import('./config.mjs').ServerName} ServerName */

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {string} dir */
export function mkdirp(dir) {
  fs.mkdirSync(dir, { recursive: true });
}

/** @param {number} pid @returns {string[] | undefined} fields of /proc/PID/stat after the comm */
function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. @param {number} pid */
export function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const st = procStat(pid);
  return st !== undefined && st[0] !== 'Z' && st[0] !== 'X';
}

/** Start time in clock ticks since boot (field 22), to tell a reused PID apart. @param {number} pid */
export function startTime(pid) {
  return procStat(pid)?.[19];
}

/** @param {number} pid */
export function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/**
 * @typedef {object} PidRecord
 * @property {number} pid
 * @property {number} port
 * @property {string} startTime
 * @property {string[]} match  substrings that must all appear in /proc/PID/cmdline
 * @property {string} startedAt
 */

/** @param {ServerName} name */
const pidFile = (name) => path.join(PID_DIR, `${name}.json`);
/** @param {ServerName} name */
export const logFile = (name) => path.join(LOG_DIR, `${name}.log`);

/** @param {ServerName} name @returns {PidRecord | undefined} */
export function readPid(name) {
  try {
    return JSON.parse(fs.readFileSync(pidFile(name), 'utf8'));
  } catch {
    return undefined;
  }
}

/** @param {ServerName} name @param {PidRecord} rec */
export function writePid(name, rec) {
  mkdirp(PID_DIR);
  const tmp = `${pidFile(name)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`);
  fs.renameSync(tmp, pidFile(name));
}

/** @param {ServerName} name */
export function removePid(name) {
  fs.rmSync(pidFile(name), { force: true });
}

/** Is this PID still the process we started? @param {PidRecord | undefined} rec */
export function isOurs(rec) {
  if (!rec || !isAlive(rec.pid)) return false;
  if (rec.startTime && startTime(rec.pid) !== rec.startTime) return false;
  const cl = cmdline(rec.pid);
  return rec.match.every((m) => cl.includes(m));
}

/** Processes of this checkout's stack for one server, found by marker (pid file lost). @param {ServerName} name */
export function findByMarker(name) {
  const tag = `${MARKER}:${name}`;
  /** @type {number[]} */
  const found = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid) continue;
    const cl = cmdline(pid);
    if (cl.includes(tag) && isAlive(pid)) found.push(pid);
  }
  return found;
}

/** @param {number} port @param {number} [timeoutMs] @returns {Promise<boolean>} */
export function portAnswers(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    const done = (/** @type {boolean} */ ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** @param {string} file @param {number} n */
export function tail(file, n = 30) {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n).join('\n');
  } catch {
    return '(no log file)';
  }
}

/** @param {string} bin */
function which(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Makes sure a binary from a Debian package exists; installs it when running as root.
 * @param {string} bin @param {string} pkg @param {(m: string) => void} log
 */
export function ensureDebianBinary(bin, pkg, log) {
  if (which(bin)) return;
  const cmd = `apt-get update && apt-get install -y ${pkg}`;
  if (!isRoot()) {
    throw new StackError(`${bin} is not installed. Install it with:\n  sudo sh -c '${cmd}'`, { server: bin });
  }
  log(`${bin} not found; installing Debian package ${pkg} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', pkg], { encoding: 'utf8', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8', env });
    r = spawnSync('apt-get', ['install', '-y', '-q', pkg], { encoding: 'utf8', env });
  }
  if (r.status !== 0 || !which(bin)) {
    throw new StackError(
      `installing ${pkg} failed (run: ${cmd}):\n${`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(-30).join('\n')}`,
    );
  }
}
