// Paths, names and the error type shared by the local stack's modules (scripts/lib/stack/).

import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is scripts/lib/stack/config.mjs). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const STACK_DIR = path.join(ROOT, '.stack');
export const PID_DIR = path.join(STACK_DIR, 'pids');
export const LOG_DIR = path.join(STACK_DIR, 'logs');
export const LOCK_FILE = path.join(STACK_DIR, 'lock');
export const EMULATORS_DIR = path.join(ROOT, 'tools', 'emulators');
export const CACHE_DIR = path.join(ROOT, '.cache', 'emulators');
export const JARS_DIR = path.join(CACHE_DIR, 'jars');
export const CLASSES_DIR = path.join(CACHE_DIR, 'classes');
export const POM = path.join(EMULATORS_DIR, 'pom.xml');
export const ELASTICMQ_CONF = path.join(EMULATORS_DIR, 'elasticmq.conf');
export const MONGO_LOGBACK = path.join(EMULATORS_DIR, 'logback-mongo.xml');
/** The launcher's Java sources (MongoLauncher and the backend it uses), all compiled together. */
export const LAUNCHER_SRC_DIR = path.join(EMULATORS_DIR, 'src');
export const LAUNCHER_CLASS = 'local.playbook.emulators.MongoLauncher';
export const DYNALITE_CLI = path.join(ROOT, 'node_modules', 'dynalite', 'cli.js');

export const HOST = '127.0.0.1';
export const ACCOUNT_ID = '000000000000';
export const TASK_QUEUE = 'playbook-service-local-tasks';
export const DLQ = 'playbook-service-local-tasks-dlq';
export const IDEMPOTENCY_TABLE = 'playbook-service-local-idempotency';
/** Reported to the mongodb driver (>= 9 required by driver 7.x); 13 is what MongoDB 5.0 reports. */
export const MONGO_WIRE_VERSION = 13;
/** Marker put on every command line we spawn, so we never touch another checkout's servers. */
export const MARKER = `playbook-stack=${STACK_DIR}`;

export const SERVER_NAMES = /** @type {const} */ (['mongo', 'sqs', 'redis', 'dynamodb']);
/** @typedef {'mongo' | 'sqs' | 'redis' | 'dynamodb'} ServerName */

export class StackError extends Error {
  /** @param {string} message @param {{ server?: string, stopped?: ServerName[] }} [opts] */
  constructor(message, opts = {}) {
    super(message);
    this.name = 'StackError';
    this.server = opts.server;
    /** Servers this failed stackUp() had started and then stopped again (none: undefined or []). */
    this.stopped = opts.stopped;
  }
}
