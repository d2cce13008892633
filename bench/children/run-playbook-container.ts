/**
 * The runPlaybook container of the e2e-throughput case (bench/lib/containers.ts): the real
 * handler, bundled like the deployed function and run with its NODE_OPTIONS, invoked by the
 * bench with real-shaped API Gateway events (Idempotency-Key set, so DynamoDB is in the path).
 */
import { handler } from '../../functions/run-playbook.js';
import { getDynamoDb } from '../../lib/clients/dynamodb.js';
import { getMongoClient } from '../../lib/clients/mongo.js';
import { getRedis } from '../../lib/clients/redis.js';
import { getSqs } from '../../lib/clients/sqs.js';
import { countRoundTrips } from '../lib/counters.js';
import { serveInvocations } from './lambda-runtime.js';

// serverless.yml's timeout for runPlaybook.
await serveInvocations(
  'runPlaybook',
  28_000,
  handler,
  countRoundTrips(getMongoClient(), getSqs(), getRedis(), getDynamoDb()),
);
