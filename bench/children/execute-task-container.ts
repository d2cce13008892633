/**
 * One executeTask container of the e2e-throughput case (bench/lib/containers.ts): the real
 * handler, bundled like the deployed function and run with its NODE_OPTIONS, invoked by the
 * bench's event source one batch at a time.
 */
import { handler } from '../../functions/execute-task.js';
import { getMongoClient } from '../../lib/clients/mongo.js';
import { getRedis } from '../../lib/clients/redis.js';
import { getSqs } from '../../lib/clients/sqs.js';
import { countRoundTrips } from '../lib/counters.js';
import { serveInvocations } from './lambda-runtime.js';

// serverless.yml's timeout for executeTask.
await serveInvocations('executeTask', 120_000, handler, countRoundTrips(getMongoClient(), getSqs(), getRedis()));
