/**
 * Runs before each integration test file (in that file's module context): points
 * the service's configuration at the local stack with a database and task queue
 * (plus DLQ) of the file's own, so files can run in parallel, and creates the
 * declared indexes. Everything is removed again after the file.
 */
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll } from 'vitest';
import { ensureIndexes } from '../../lib/adapters/mongo/collections.js';
import { closeClients, createMongoClient, createSqsClient } from '../../lib/clients.js';
import { indexSettings, parseConfigSection } from '../../lib/config.js';
import { testEndpoints } from './endpoints.js';

// test-env.ts (the previous setup file) has set the static environment.
const ep = testEndpoints();
const suffix = randomUUID().slice(0, 8);
const dbName = `test_${suffix}`;
process.env.MONGO_DB = dbName;
// A task queue and DLQ of this file's own, shaped like the deployed ones.
const sqs = createSqsClient(ep.region, ep.sqsEndpoint);
const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `t-${suffix}-dlq` }));
const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] })))
  .Attributes?.QueueArn;
const queue = await sqs.send(
  new CreateQueueCommand({
    QueueName: `t-${suffix}`,
    Attributes: {
      VisibilityTimeout: '5',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }),
    },
  }),
);
process.env.TASK_QUEUE_URL = queue.QueueUrl;
process.env.DLQ_URL = dlq.QueueUrl;

const mongo = createMongoClient(parseConfigSection('mongo', process.env));
await ensureIndexes(mongo.db(dbName), indexSettings(parseConfigSection('audit', process.env)));

afterAll(async () => {
  await closeClients();
  await mongo
    .db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  await mongo.close();
  await Promise.allSettled([
    sqs.send(new DeleteQueueCommand({ QueueUrl: queue.QueueUrl })),
    sqs.send(new DeleteQueueCommand({ QueueUrl: dlq.QueueUrl })),
  ]);
  sqs.destroy();
});
