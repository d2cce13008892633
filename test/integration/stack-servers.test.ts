/** One round of real wire-protocol traffic per local server, through our own client factories. */
import { ConditionalCheckFailedException, DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient, createMongoClient, createRedisClient, createSqsClient } from '../../lib/clients.js';
import { parseConfigSection } from '../../lib/config.js';
import { SqsPoller } from '../support/sqs-poller.js';

const region = process.env.AWS_REGION ?? 'us-east-1';
const mongo = createMongoClient(parseConfigSection('mongo', process.env));
const redis = createRedisClient(parseConfigSection('redis', process.env));
const sqs = createSqsClient(region, process.env.SQS_ENDPOINT);
const dynamo = createDynamoDbClient(region, process.env.DYNAMODB_ENDPOINT);

afterAll(async () => {
  await mongo.close();
  redis.disconnect();
  sqs.destroy();
  dynamo.destroy();
});

describe('MongoDB-compatible server', () => {
  it('inserts, finds and aggregates with $group/$avg', async () => {
    const col = mongo.db(process.env.MONGO_DB).collection('wire_check');
    await col.insertMany([
      { pid: 'a', playbook_runtime: 100 },
      { pid: 'a', playbook_runtime: 300 },
      { pid: 'b', playbook_runtime: 50 },
    ]);
    expect(await col.countDocuments({ pid: 'a' })).toBe(2);
    const found = await col.findOne({ pid: 'b' }, { projection: { _id: 0 } });
    expect(found).toEqual({ pid: 'b', playbook_runtime: 50 });
    const groups = await col
      .aggregate([
        { $group: { _id: '$pid', average: { $avg: '$playbook_runtime' }, count: { $sum: 1 } } },
        { $sort: { average: -1 } },
      ])
      .toArray();
    expect(groups).toEqual([
      { _id: 'a', average: 200, count: 2 },
      { _id: 'b', average: 50, count: 1 },
    ]);
  });
});

describe('SQS-compatible server through the Lambda-like poller', () => {
  it('deletes processed messages and redelivers only the reported batchItemFailures', async () => {
    const queueUrl = process.env.TASK_QUEUE_URL ?? '';
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['ok-1', 'ok-2', 'fail-once', 'ok-3'].map((b, i) => ({ Id: String(i), MessageBody: b })),
      }),
    );
    const seen: string[] = [];
    const failedOnce = new Set<string>();
    const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const failures: SQSBatchResponse['batchItemFailures'] = [];
      for (const r of event.Records) {
        seen.push(`${r.body}#${r.attributes.ApproximateReceiveCount}`);
        if (r.body === 'fail-once' && !failedOnce.has(r.body)) {
          failedOnce.add(r.body);
          failures.push({ itemIdentifier: r.messageId });
        }
      }
      return { batchItemFailures: failures };
    };
    const poller = new SqsPoller({ sqs, queueUrl, handler, maxConcurrency: 2 }).start();
    // The failed message comes back after the queue's 5 s visibility timeout.
    await poller.until(async () => (seen.includes('fail-once#2') ? true : undefined), 20_000, 'the redelivery');
    await poller.stop();
    expect(seen.filter((s) => s.startsWith('ok-'))).toHaveLength(3);
    expect(seen.filter((s) => s.startsWith('fail-once'))).toEqual(['fail-once#1', 'fail-once#2']);
    expect(poller.stats.messagesDeleted).toBe(4);
    expect(poller.stats.messagesFailed).toBe(1);
  });
});

describe('Redis', () => {
  it('sets and gets a value with a TTL', async () => {
    await redis.set('wire:check', 'value', 'EX', 30);
    expect(await redis.get('wire:check')).toBe('value');
    expect(await redis.ttl('wire:check')).toBeGreaterThan(0);
  });
});

describe('DynamoDB emulator', () => {
  it('refuses a second conditional put of the same key', async () => {
    const TableName = process.env.IDEMPOTENCY_TABLE;
    const id = `wire-check-${Date.now()}`;
    const put = () =>
      dynamo.send(
        new PutItemCommand({
          TableName,
          Item: { id: { S: id }, status: { S: 'INPROGRESS' } },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
    await put();
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await dynamo.send(new DeleteItemCommand({ TableName, Key: { id: { S: id } } }));
  });
});
