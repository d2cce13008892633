/**
 * Static environment of the integration tests. The first setup file, so it runs
 * before anything builds the Powertools singletons (they read settings at construction).
 */
import { TEST_JWT_SECRET, testEndpoints } from './endpoints.js';

const ep = testEndpoints();

Object.assign(process.env, {
  STAGE: 'local',
  AWS_REGION: ep.region,
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  MONGO_URI: ep.mongoUri,
  MONGO_SERVER_SELECTION_TIMEOUT_MS: '3000',
  REDIS_URL: ep.redisUrl,
  SQS_ENDPOINT: ep.sqsEndpoint,
  DYNAMODB_ENDPOINT: ep.dynamodbEndpoint,
  IDEMPOTENCY_TABLE: ep.idempotencyTable,
  AUTH_JWT_SECRET: TEST_JWT_SECRET,
  WEBHOOK_SIGNING_KEY: 'test-webhook-signing-key-0123456789abcdef',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_TRACE_ENABLED: 'false',
  POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
  POWERTOOLS_SERVICE_NAME: 'playbook-service',
});
