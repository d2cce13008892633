/**
 * Network clients, created lazily once per container and reused across warm
 * invocations (the seed's pools, in serverless form). Tests and benches build
 * their own with the exported factories and hand them to the adapters.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Redis } from 'ioredis';
import { type Db, MongoClient } from 'mongodb';
import { type Config, getConfig } from './config.js';
import { logger, tracer } from './observability.js';

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

/** An ioredis client that fails fast when Redis is away (a cache must never block a request). */
export function createRedisClient(cfg: Config<'redis'>): Redis {
  const client = new Redis(cfg.REDIS_URL, {
    connectTimeout: cfg.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: cfg.REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: cfg.REDIS_MAX_RETRIES_PER_REQUEST,
    enableOfflineQueue: false,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let lastLogged = 0;
  // Without a listener ioredis prints every reconnect attempt; log at most every 10 s.
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged > 10_000) {
      lastLogged = now;
      logger.warn('redis unavailable', { error: err.message });
    }
  });
  return client;
}

/** An SQS client; `endpoint` points it at a local emulator. */
export function createSqsClient(region: string, endpoint?: string): SQSClient {
  return new SQSClient({ region, ...(endpoint ? { endpoint } : {}) });
}

/** An SSM client (integration secrets); `endpoint` points it at a local emulator. */
export function createSsmClient(region: string, endpoint?: string): SSMClient {
  return new SSMClient({ region, ...(endpoint ? { endpoint } : {}) });
}

/** A DynamoDB client; `endpoint` points it at a local emulator. */
export function createDynamoDbClient(region: string, endpoint?: string): DynamoDBClient {
  return new DynamoDBClient({ region, ...(endpoint ? { endpoint } : {}) });
}

/** Keep-alive agents for integration calls (the seed's HTTP client pool). */
export function createHttpAgents(maxSockets: number): { http: HttpAgent; https: HttpsAgent } {
  const opts = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 20), timeout: 90_000 };
  return { http: new HttpAgent(opts), https: new HttpsAgent(opts) };
}

let mongo: MongoClient | undefined;
let redis: Redis | undefined;
let sqs: SQSClient | undefined;
let dynamo: DynamoDBClient | undefined;
let ssm: SSMClient | undefined;
let agents: ReturnType<typeof createHttpAgents> | undefined;

/** The container's MongoClient. */
export function getMongoClient(): MongoClient {
  mongo ??= createMongoClient(getConfig('mongo'));
  return mongo;
}

/** The service database on the container's MongoClient. */
export function getDb(): Db {
  return getMongoClient().db(getConfig('mongo').MONGO_DB);
}

/** The container's Redis client. */
export function getRedis(): Redis {
  redis ??= createRedisClient(getConfig('redis'));
  return redis;
}

/** The container's SQS client (traced in AWS). */
export function getSqs(): SQSClient {
  sqs ??= tracer.captureAWSv3Client(createSqsClient(getConfig('service').AWS_REGION, getConfig('queue').SQS_ENDPOINT));
  return sqs;
}

/** The container's DynamoDB client (traced in AWS). */
export function getDynamoDb(): DynamoDBClient {
  dynamo ??= tracer.captureAWSv3Client(
    createDynamoDbClient(getConfig('service').AWS_REGION, getConfig('idempotency').DYNAMODB_ENDPOINT),
  );
  return dynamo;
}

/** The container's SSM client for integration secrets (traced in AWS). */
export function getSsm(): SSMClient {
  ssm ??= tracer.captureAWSv3Client(
    createSsmClient(getConfig('service').AWS_REGION, getConfig('secrets').SSM_ENDPOINT),
  );
  return ssm;
}

/** The container's keep-alive agents for integration calls. */
export function getHttpAgents(): ReturnType<typeof createHttpAgents> {
  agents ??= createHttpAgents(getConfig('engine').HTTP_MAX_SOCKETS);
  return agents;
}

/** Closes every client this container opened (tests, benches, local shutdown). */
export async function closeClients(): Promise<void> {
  const closing: Promise<unknown>[] = [];
  if (mongo) closing.push(mongo.close());
  if (redis) redis.disconnect();
  sqs?.destroy();
  dynamo?.destroy();
  ssm?.destroy();
  agents?.http.destroy();
  agents?.https.destroy();
  mongo = redis = sqs = dynamo = ssm = agents = undefined;
  await Promise.all(closing);
}
