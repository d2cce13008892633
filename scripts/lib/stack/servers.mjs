// How each local server is started, identified and probed.

import fs from 'node:fs';
import path from 'node:path';
import {
  CLASSES_DIR,
  DYNALITE_CLI,
  ELASTICMQ_CONF,
  HOST,
  JARS_DIR,
  LAUNCHER_CLASS,
  MARKER,
  MONGO_LOGBACK,
  MONGO_WIRE_VERSION,
  STACK_DIR,
  StackError,
} from './config.mjs';
import { ensureJars, ensureLauncher } from './emulators.mjs';
import { ports, stackEndpoints } from './endpoints.mjs';
import { ensureIdempotencyTable, mongoReady, redisReady, sqsReady } from './probes.mjs';
import { ensureDebianBinary, portAnswers } from './proc.mjs';

/** @typedef {import('./config.mjs').ServerName} ServerName */

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
export function serverDefs() {
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
