/** The container's MongoClient (the seed's pool settings), created on first use and reused. */
import { type Db, MongoClient } from 'mongodb';
import { type Config, getConfig } from '../config.js';
import { onClose } from './registry.js';

/** A MongoClient with the seed's pool, timeout and retry settings. Connects on first use. */
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
    retryWrites: true,
    retryReads: true,
  });
}

let mongo: MongoClient | undefined;

/** The container's MongoClient. */
export function getMongoClient(): MongoClient {
  mongo ??= createMongoClient(getConfig('mongo'));
  return mongo;
}

/** The service database on the container's MongoClient. */
export function getDb(): Db {
  return getMongoClient().db(getConfig('mongo').MONGO_DB);
}

onClose(async () => {
  const client = mongo;
  mongo = undefined;
  await client?.close();
});
