// Local stack of real servers for development, tests and CI (no Docker needed):
//   mongo    mongo-java-server 1.47.0 (in-memory), via tools/emulators MongoLauncher
//   sqs      ElasticMQ 1.7.1, queues from tools/emulators/elasticmq.conf
//   redis    Debian's redis-server, no persistence
//   dynamodb dynalite 4.0.0 (npm devDependency), in-memory
//
// Programmatic API (used by `node scripts/stack.mjs`, vitest globalSetup, `npm start`, .ci/run):
//   stackEndpoints() -> endpoints honouring MONGO_URI / REDIS_URL / SQS_ENDPOINT / DYNAMODB_ENDPOINT
//   stackUp({ quiet }) -> idempotent start + health wait, returns { endpoints, started, running, external }
//   stackDown({ quiet }) -> stops only the processes this stack started
//   stackStatus() -> one entry per server
//
// State lives in .stack/ (pids/NAME.json, logs/NAME.log, lock) and the downloaded jars plus the
// compiled launcher in .cache/emulators/ (both git-ignored). Processes are spawned detached so they
// outlive the calling process; stop them with stackDown().
//
// Environment:
//   MONGO_PORT (27117) SQS_PORT (9324) REDIS_PORT (6479) DYNAMODB_PORT (8001)
//   MONGO_URI REDIS_URL SQS_ENDPOINT DYNAMODB_ENDPOINT   use that service instead; not started here
//   TASK_QUEUE_URL DLQ_URL IDEMPOTENCY_TABLE AWS_REGION  override the derived names
//   STACK_START_TIMEOUT_MS                               health-wait limit for the JVMs (60000)

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is scripts/lib/stack.mjs). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STACK_DIR = path.join(ROOT, '.stack');
const PID_DIR = path.join(STACK_DIR, 'pids');
const LOG_DIR = path.join(STACK_DIR, 'logs');
const LOCK_FILE = path.join(STACK_DIR, 'lock');
const EMULATORS_DIR = path.join(ROOT, 'tools', 'emulators');
const CACHE_DIR = path.join(ROOT, '.cache', 'emulators');
const JARS_DIR = path.join(CACHE_DIR, 'jars');
const CLASSES_DIR = path.join(CACHE_DIR, 'classes');
const POM = path.join(EMULATORS_DIR, 'pom.xml');
const ELASTICMQ_CONF = path.join(EMULATORS_DIR, 'elasticmq.conf');
const MONGO_LOGBACK = path.join(EMULATORS_DIR, 'logback-mongo.xml');
/** The launcher's Java sources (MongoLauncher and the backend it uses), all compiled together. */
const LAUNCHER_SRC_DIR = path.join(EMULATORS_DIR, 'src');
const LAUNCHER_CLASS = 'local.playbook.emulators.MongoLauncher';
const DYNALITE_CLI = path.join(ROOT, 'node_modules', 'dynalite', 'cli.js');

const HOST = '127.0.0.1';
const ACCOUNT_ID = '000000000000';
const TASK_QUEUE = 'playbook-service-local-tasks';
const DLQ = 'playbook-service-local-tasks-dlq';
const IDEMPOTENCY_TABLE = 'playbook-service-local-idempotency';
/** Reported to the mongodb driver (>= 9 required by driver 7.x); 13 is what MongoDB 5.0 reports. */
const MONGO_WIRE_VERSION = 13;
/** Marker put on every command line we spawn, so we never touch another checkout's servers. */
const MARKER = `playbook-stack=${STACK_DIR}`;

const SERVER_NAMES = /** @type {const} */ (['mongo', 'sqs', 'redis', 'dynamodb']);
/** @typedef {'mongo' | 'sqs' | 'redis' | 'dynamodb'} ServerName */

export class StackError extends Error {
  /** @param {string} message @param {{ server?: string }} [opts] */
  constructor(message, opts = {}) {
    super(message);
    this.name = 'StackError';
    this.server = opts.server;
  }
}

// ---------------------------------------------------------------------------------------------
// Endpoints

/** @param {string} name @param {number} def */
function envPort(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new StackError(`${name}=${raw} is not a valid TCP port`);
  return n;
}

/** @param {string} name */
function envStr(name) {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

function ports() {
  return {
    mongo: envPort('MONGO_PORT', 27117),
    sqs: envPort('SQS_PORT', 9324),
    redis: envPort('REDIS_PORT', 6479),
    dynamodb: envPort('DYNAMODB_PORT', 8001),
  };
}

/**
 * @typedef {object} StackEndpoints
 * @property {string} mongoUri
 * @property {string} redisUrl
 * @property {string} sqsEndpoint
 * @property {string} dynamodbEndpoint
 * @property {string} region
 * @property {string} taskQueueUrl
 * @property {string} dlqUrl
 * @property {string} idempotencyTable
 */

/**
 * Where each service is: the local server's address, or the env override for a real service.
 * @returns {StackEndpoints}
 */
export function stackEndpoints() {
  const p = ports();
  const sqsEndpoint = (envStr('SQS_ENDPOINT') ?? `http://${HOST}:${p.sqs}`).replace(/\/+$/, '');
  return {
    mongoUri: envStr('MONGO_URI') ?? `mongodb://${HOST}:${p.mongo}`,
    redisUrl: envStr('REDIS_URL') ?? `redis://${HOST}:${p.redis}`,
    sqsEndpoint,
    dynamodbEndpoint: (envStr('DYNAMODB_ENDPOINT') ?? `http://${HOST}:${p.dynamodb}`).replace(/\/+$/, ''),
    region: envStr('AWS_REGION') ?? 'us-east-1',
    taskQueueUrl: envStr('TASK_QUEUE_URL') ?? `${sqsEndpoint}/${ACCOUNT_ID}/${TASK_QUEUE}`,
    dlqUrl: envStr('DLQ_URL') ?? `${sqsEndpoint}/${ACCOUNT_ID}/${DLQ}`,
    idempotencyTable: envStr('IDEMPOTENCY_TABLE') ?? IDEMPOTENCY_TABLE,
  };
}

/**
 * The env override per server, if it points somewhere else than this stack's own server.
 * An override naming the local server itself (127.0.0.1/localhost and the configured port, e.g.
 * exported by `npm start` from stackEndpoints() into a child's environment) still counts as local,
 * so a child calling stackUp() again manages it instead of treating it as external.
 * @returns {Record<ServerName, string | undefined>}
 */
function externals() {
  const p = ports();
  /** @param {string | undefined} url @param {number} port */
  const ext = (url, port) => {
    if (url === undefined) return undefined;
    try {
      const u = new URL(url);
      const local = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && !u.protocol.includes('+srv');
      if (local && Number(u.port) === port) return undefined;
    } catch {
      // unparsable (mongodb with several hosts): external
    }
    return url;
  };
  return {
    mongo: ext(envStr('MONGO_URI'), p.mongo),
    sqs: ext(envStr('SQS_ENDPOINT'), p.sqs),
    redis: ext(envStr('REDIS_URL'), p.redis),
    dynamodb: ext(envStr('DYNAMODB_ENDPOINT'), p.dynamodb),
  };
}

// ---------------------------------------------------------------------------------------------
// Small process / file helpers

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {string} dir */
function mkdirp(dir) {
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
function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const st = procStat(pid);
  return st !== undefined && st[0] !== 'Z' && st[0] !== 'X';
}

/** Start time in clock ticks since boot (field 22), to tell a reused PID apart. @param {number} pid */
function startTime(pid) {
  return procStat(pid)?.[19];
}

/** @param {number} pid */
function cmdline(pid) {
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
function readPid(name) {
  try {
    return JSON.parse(fs.readFileSync(pidFile(name), 'utf8'));
  } catch {
    return undefined;
  }
}

/** @param {ServerName} name @param {PidRecord} rec */
function writePid(name, rec) {
  mkdirp(PID_DIR);
  const tmp = `${pidFile(name)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`);
  fs.renameSync(tmp, pidFile(name));
}

/** @param {ServerName} name */
function removePid(name) {
  fs.rmSync(pidFile(name), { force: true });
}

/** Is this PID still the process we started? @param {PidRecord | undefined} rec */
function isOurs(rec) {
  if (!rec || !isAlive(rec.pid)) return false;
  if (rec.startTime && startTime(rec.pid) !== rec.startTime) return false;
  const cl = cmdline(rec.pid);
  return rec.match.every((m) => cl.includes(m));
}

/** Processes of this checkout's stack for one server, found by marker (pid file lost). @param {ServerName} name */
function findByMarker(name) {
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
function portAnswers(port, timeoutMs = 500) {
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
function tail(file, n = 30) {
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
function ensureDebianBinary(bin, pkg, log) {
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

// ---------------------------------------------------------------------------------------------
// Lock: stackUp/stackDown may be called by several processes at once (vitest, npm start, CI).

/** @template T @param {() => Promise<T>} fn @returns {Promise<T>} */
async function withLock(fn) {
  mkdirp(STACK_DIR);
  const deadline = Date.now() + 10 * 60_000; // covers a first-time Maven download by another process
  for (;;) {
    try {
      const fd = fs.openSync(LOCK_FILE, 'wx');
      fs.writeSync(fd, `${process.pid} ${startTime(process.pid) ?? ''}\n`);
      fs.closeSync(fd);
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      let stale = false;
      try {
        const [pidStr, st] = fs.readFileSync(LOCK_FILE, 'utf8').trim().split(' ');
        const pid = Number(pidStr);
        stale = !isAlive(pid) || (st !== undefined && st !== '' && startTime(pid) !== st);
      } catch {
        // lock vanished or half-written: retry
      }
      if (stale) {
        fs.rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StackError(`timed out waiting for the stack lock ${LOCK_FILE}`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_FILE, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Emulator jars (one Maven call, cached) and the compiled Mongo launcher

/** @param {string[]} files */
function hashFiles(files) {
  const h = createHash('sha256');
  for (const f of files) h.update(fs.readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** @param {(m: string) => void} log */
function ensureJars(log) {
  const stamp = path.join(JARS_DIR, '.pom-hash');
  const want = hashFiles([POM]);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === want) return false;
  ensureDebianBinary('java', 'default-jdk-headless', log);
  ensureDebianBinary('mvn', 'maven', log);
  log('fetching emulator jars with Maven (one time; cached in .cache/emulators/jars) ...');
  mkdirp(CACHE_DIR);
  const tmp = path.join(CACHE_DIR, `jars.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`], {
    cwd: EMULATORS_DIR,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
    throw new StackError(
      `Maven could not fetch the emulator jars (mvn exit ${r.status}):\n${out.split('\n').slice(-30).join('\n')}`,
    );
  }
  fs.writeFileSync(path.join(tmp, '.pom-hash'), `${want}\n`);
  fs.rmSync(JARS_DIR, { recursive: true, force: true });
  fs.renameSync(tmp, JARS_DIR);
  fs.rmSync(CLASSES_DIR, { recursive: true, force: true }); // recompile against the new jars
  return true;
}

/** Every .java file under tools/emulators/src, sorted (stable hash). @returns {string[]} */
function launcherSources() {
  return fs
    .readdirSync(LAUNCHER_SRC_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.java'))
    .map((f) => path.join(LAUNCHER_SRC_DIR, f))
    .sort();
}

/** @param {(m: string) => void} log */
function ensureLauncher(log) {
  const stamp = path.join(CLASSES_DIR, '.src-hash');
  const sources = launcherSources();
  const want = hashFiles([...sources, path.join(JARS_DIR, '.pom-hash')]);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === want) return;
  ensureDebianBinary('javac', 'default-jdk-headless', log);
  log('compiling MongoLauncher ...');
  const tmp = path.join(CACHE_DIR, `classes.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync('javac', ['-nowarn', '-d', tmp, '-cp', path.join(JARS_DIR, '*'), ...sources], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new StackError(`javac failed for ${LAUNCHER_SRC_DIR}:\n${r.stdout}${r.stderr}`, { server: 'mongo' });
  }
  fs.writeFileSync(path.join(tmp, '.src-hash'), `${want}\n`);
  fs.rmSync(CLASSES_DIR, { recursive: true, force: true });
  fs.renameSync(tmp, CLASSES_DIR);
}

// ---------------------------------------------------------------------------------------------
// Server definitions

/**
 * @typedef {object} ServerDef
 * @property {ServerName} name
 * @property {number} port
 * @property {string} endpoint
 * @property {string} command
 * @property {string[]} args
 * @property {string[]} match       substrings of /proc/PID/cmdline identifying our process
 * @property {number} timeoutMs     health-wait limit
 * @property {() => Promise<void>} ready   throws until the server really answers
 * @property {(log: (m: string) => void) => void} [prepare]  runs before spawning
 * @property {() => Promise<void>} [setup] runs once after it is ready (tables etc.)
 */

// Full tiered compilation (C1, then C2 for hot code): the emulators stand in for servers that
// answer in microseconds, and C1-only code made mongo-java-server apply a 1,000-update bulk
// write 1.8x slower (bench: status-writes, 110-119 vs 59-65 ms), which understated every
// batching gain. Serial GC and small stacks keep their memory low.
const jvmFlags = ['-XX:+UseSerialGC', '-Xss512k', '-XX:+ExitOnOutOfMemoryError'];

/** @returns {Record<ServerName, ServerDef>} */
function serverDefs() {
  const p = ports();
  const ep = stackEndpoints();
  const jvmTimeout = Number(process.env.STACK_START_TIMEOUT_MS) || 60_000;
  const classpath = `${path.join(JARS_DIR, '*')}${path.delimiter}${CLASSES_DIR}`;
  return {
    mongo: {
      name: 'mongo',
      port: p.mongo,
      endpoint: ep.mongoUri,
      command: 'java',
      args: [
        `-D${MARKER}:mongo`,
        '-Xmx512m',
        ...jvmFlags,
        `-Dlogback.configurationFile=${MONGO_LOGBACK}`,
        '-cp',
        classpath,
        LAUNCHER_CLASS,
        HOST,
        String(p.mongo),
        String(MONGO_WIRE_VERSION),
      ],
      match: [`${MARKER}:mongo`, LAUNCHER_CLASS, String(p.mongo)],
      timeoutMs: jvmTimeout,
      prepare: (log) => {
        ensureJars(log);
        ensureLauncher(log);
      },
      ready: () => mongoReady(p.mongo),
    },
    sqs: {
      name: 'sqs',
      port: p.sqs,
      endpoint: ep.sqsEndpoint,
      command: 'java',
      args: [
        `-D${MARKER}:sqs`,
        '-Xmx256m',
        ...jvmFlags,
        `-Dconfig.file=${ELASTICMQ_CONF}`,
        `-Drest-sqs.bind-hostname=${HOST}`,
        `-Drest-sqs.bind-port=${p.sqs}`,
        `-Dnode-address.host=${HOST}`,
        `-Dnode-address.port=${p.sqs}`,
        '-cp',
        path.join(JARS_DIR, '*'),
        'org.elasticmq.server.Main',
      ],
      match: [`${MARKER}:sqs`, 'org.elasticmq.server.Main', `-Drest-sqs.bind-port=${p.sqs}`],
      timeoutMs: jvmTimeout,
      prepare: (log) => ensureJars(log),
      ready: () => sqsReady(p.sqs),
    },
    redis: {
      name: 'redis',
      port: p.redis,
      endpoint: ep.redisUrl,
      command: 'redis-server',
      args: [
        '--port',
        String(p.redis),
        '--bind',
        HOST,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        '--dir',
        STACK_DIR,
        // redis rewrites its own command line; keep our marker in it.
        '--proc-title-template',
        `{title} {listen-addr} {server-mode} ${MARKER}:redis`,
      ],
      match: [`${MARKER}:redis`, `${HOST}:${p.redis}`],
      timeoutMs: 20_000,
      prepare: (log) => ensureDebianBinary('redis-server', 'redis-server', log),
      ready: () => redisReady(p.redis),
    },
    dynamodb: {
      name: 'dynamodb',
      port: p.dynamodb,
      endpoint: ep.dynamodbEndpoint,
      command: process.execPath,
      args: [
        '--max-old-space-size=256',
        DYNALITE_CLI,
        '--host',
        HOST,
        '--port',
        String(p.dynamodb),
        '--createTableMs',
        '50',
        '--deleteTableMs',
        '50',
        '--updateTableMs',
        '50',
        `--${MARKER}:dynamodb`,
      ],
      match: [`${MARKER}:dynamodb`, DYNALITE_CLI, String(p.dynamodb)],
      timeoutMs: 20_000,
      prepare: () => {
        if (!fs.existsSync(DYNALITE_CLI))
          throw new StackError(`${DYNALITE_CLI} is missing: run npm install first`, { server: 'dynamodb' });
      },
      ready: async () => {
        if (!(await portAnswers(p.dynamodb))) throw new Error('port closed');
      },
      setup: () => ensureIdempotencyTable(ep.dynamodbEndpoint, ep.region, ep.idempotencyTable),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Readiness probes

/** @param {number} port */
async function mongoReady(port) {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(`mongodb://${HOST}:${port}/?directConnection=true`, {
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 2000,
  });
  try {
    await client.connect();
    const res = await client.db('admin').command({ ping: 1 });
    if (res.ok !== 1) throw new Error(`ping answered ${JSON.stringify(res)}`);
  } finally {
    await client.close().catch(() => {});
  }
}

/**
 * Raw AWS JSON protocol call (no SDK import: keeps the already-running path fast).
 * @param {string} endpoint @param {string} action @param {object} body
 */
async function sqsCall(endpoint, action, body) {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${action}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(2000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${action} -> HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Ready when both queues exist (ElasticMQ answers HTTP a moment before it creates them). @param {number} port */
async function sqsReady(port) {
  const endpoint = `http://${HOST}:${port}`;
  const want = `${endpoint}/${ACCOUNT_ID}/${TASK_QUEUE}`;
  const { QueueUrl } = await sqsCall(endpoint, 'GetQueueUrl', { QueueName: TASK_QUEUE });
  if (QueueUrl !== want) {
    throw new StackError(
      `ElasticMQ returned queue URL ${QueueUrl}, expected ${want} (check node-address in ${ELASTICMQ_CONF})`,
      { server: 'sqs' },
    );
  }
  await sqsCall(endpoint, 'GetQueueUrl', { QueueName: DLQ });
}

/** PING over RESP. @param {number} port */
function redisReady(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    let buf = '';
    sock.setTimeout(1000, () => {
      sock.destroy();
      reject(new Error('timeout'));
    });
    sock.once('error', reject);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        sock.destroy();
        if (buf.startsWith('+PONG')) resolve(undefined);
        else reject(new Error(`PING answered ${buf.trim()}`));
      }
    });
  });
}

/**
 * Creates the Powertools idempotency table (partition key `id`, string) if missing; waits for ACTIVE.
 * @param {string} endpoint @param {string} region @param {string} tableName
 */
export async function ensureIdempotencyTable(endpoint, region, tableName) {
  const { DynamoDBClient, CreateTableCommand, DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');
  // The SDK prints a "Node >= 22 soon" notice on the first client construction; not from here.
  const WARN = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  const hadWarnVar = WARN in process.env;
  if (!hadWarnVar) process.env[WARN] = 'true';
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  if (!hadWarnVar) delete process.env[WARN];
  try {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (err) {
      if (/** @type {{ name?: string }} */ (err).name !== 'ResourceInUseException') throw err;
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
      if (Date.now() > deadline)
        throw new StackError(`table ${tableName} stayed ${Table?.TableStatus}`, { server: 'dynamodb' });
      await sleep(50);
    }
  } finally {
    client.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Start / stop one server

/** @param {ServerDef} def */
function spawnServer(def) {
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
async function waitReady(def, pid, state) {
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
function withLog(err, def) {
  err.message += `\n--- last 30 lines of ${path.relative(ROOT, logFile(def.name))} ---\n${tail(logFile(def.name), 30)}`;
  return err;
}

/**
 * Kills a PID we started: SIGTERM, then SIGKILL after graceMs. Waits until it is gone.
 * @param {number} pid @param {number} [graceMs]
 */
async function killPid(pid, graceMs = 5000) {
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
async function stopServer(def) {
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

// ---------------------------------------------------------------------------------------------
// Public API

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
      throw new StackError(`local stack failed to start:\n${msg}`, { server: failed[0]?.server });
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
