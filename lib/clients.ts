/**
 * Network clients, created lazily once per container and reused across warm
 * invocations (the original Go service's pools, in serverless form), one module per outside
 * system under lib/clients/ so each function bundles only the SDKs it uses.
 * This barrel is for tests, benches and scripts; functions import the modules.
 */
export { createDynamoDbClient, getDynamoDb } from './clients/dynamodb.js';
export { createHttpAgents, getHttpAgents } from './clients/http.js';
export { createMongoClient, getDb, getMongoClient } from './clients/mongo.js';
export { createRedisClient, getRedis } from './clients/redis.js';
export { closeClients } from './clients/registry.js';
export { createSqsClient, getSqs } from './clients/sqs.js';
export { createSsmClient, getSsm } from './clients/ssm.js';
