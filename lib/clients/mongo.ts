/** The container's MongoClient (the original Go service's pool settings), created on first use and reused. */
import { type Db, MongoClient } from 'mongodb';
import { type Config, getConfig } from '../config.js';
import { logger } from '../observability.js';
import { type MongoWatchdog, watchMongoClient } from './mongo-watchdog.js';
import { onClose } from './registry.js';

/** A MongoClient with the original Go service's pool, timeout and retry settings. Connects on first use. */
export function createMongoClient(cfg: Config<'mongo'>): MongoClient {
  return new MongoClient(cfg.MONGO_URI, {
    appName: 'playbook-service',
    maxPoolSize: cfg.MONGO_MAX_POOL_SIZE,
    minPoolSize: cfg.MONGO_MIN_POOL_SIZE,
    maxIdleTimeMS: cfg.MONGO_MAX_IDLE_TIME_MS,
    connectTimeoutMS: cfg.MONGO_CONNECT_TIMEOUT_MS,
    socketTimeoutMS: cfg.MONGO_SOCKET_TIMEOUT_MS,
    serverSelectionTimeoutMS: cfg.MONGO_SERVER_SELECTION_TIMEOUT_MS,
    heartbeatFrequencyMS: cfg.MONGO_HEARTBEAT_FREQUENCY_MS,
    // What the driver picks in Lambda anyway; everywhere else too, so every server check is
    // bounded by connectTimeoutMS (the watchdog's stall bound relies on it).
    serverMonitoringMode: 'poll',
    retryWrites: true,
    retryReads: true,
  });
}

/**
 * How long a server check may stay unanswered before the monitor counts as stuck: by default
 * 2 x connectTimeoutMS (the longest a check can take: connect, then handshake) + 5 s; 0 is off.
 * Never below 2 x connectTimeoutMS, or a server that is merely slow to answer would be reopened.
 */
export function monitorStallMs(cfg: Config<'mongo'>): number {
  const longestCheck = 2 * cfg.MONGO_CONNECT_TIMEOUT_MS;
  const stall = cfg.MONGO_MONITOR_STALL_MS ?? longestCheck + 5_000;
  return stall === 0 ? 0 : Math.max(stall, longestCheck);
}

let mongo: MongoClient | undefined;
let watchdog: MongoWatchdog | undefined;

/**
 * The container's MongoClient, reopened by a watchdog when the driver gets stuck (mongo-watchdog.ts).
 * Close it with closeClients(), which stops the watchdog first (it would reconnect a client closed
 * behind its back).
 */
export function getMongoClient(): MongoClient {
  if (mongo) return mongo;
  const cfg = getConfig('mongo');
  mongo = createMongoClient(cfg);
  watchdog = watchMongoClient(mongo, {
    stallMs: monitorStallMs(cfg),
    log: (message, details) => logger.warn(message, details),
  });
  return mongo;
}

/** The container's watchdog (for tests and diagnostics); undefined before the client exists. */
export function getMongoWatchdog(): MongoWatchdog | undefined {
  return watchdog;
}

/** The service database on the container's MongoClient. */
export function getDb(): Db {
  return getMongoClient().db(getConfig('mongo').MONGO_DB);
}

onClose(async () => {
  const client = mongo;
  watchdog?.stop();
  mongo = undefined;
  watchdog = undefined;
  await client?.close();
});
