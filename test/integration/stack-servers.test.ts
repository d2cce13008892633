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

describe('MongoDB-compatible server: the peid lookup of tools/emulators', () => {
  // The launcher serves top-level `peid` equality and $in (and an $or of them) from a lookup
  // instead of a scan. `{$eq: ...}` is not served by it, so it is the scan to compare with.
  it('answers peid queries exactly as a scan does, through inserts, moves, deletes and reused slots', async () => {
    const col = mongo.db(process.env.MONGO_DB).collection<{ _id: string; [field: string]: unknown }>('peid_lookup');
    const runs = Array.from({ length: 12 }, (_, i) => `r${i}`);
    let n = 0;
    const doc = (peid: unknown, extra: Record<string, unknown> = {}) => ({
      _id: `d${n++}`,
      tenant_code: n % 3 === 0 ? 'u' : 't',
      peid,
      task_seq: (n * 7) % 23,
      ...(n % 4 === 0 ? { item_of: 'loop' } : {}),
      ...extra,
    });
    await col.insertMany([
      ...Array.from({ length: 300 }, (_, i) => doc(runs[i % 10])),
      doc(['r1', 'x']), // an array holding the value matches it, as in MongoDB
      doc(42),
      doc(null),
      { _id: 'no-peid', tenant_code: 't', task_seq: 1 },
    ]);

    const agree = async (step: string) => {
      for (const r of runs) {
        const scan = await col.find({ peid: { $eq: r }, tenant_code: 't' }).toArray();
        expect(await col.find({ peid: r, tenant_code: 't' }).toArray(), `${step}: ${r}`).toEqual(scan);
        expect(await col.find({ tenant_code: 't', peid: { $in: [r] } }).toArray(), `${step}: $in ${r}`).toEqual(scan);
        expect(
          await col.find({ peid: r, item_of: null }).sort({ task_seq: 1, _id: 1 }).toArray(),
          `${step}: sorted ${r}`,
        ).toEqual(
          await col
            .find({ peid: { $eq: r }, item_of: null })
            .sort({ task_seq: 1, _id: 1 })
            .toArray(),
        );
      }
      const pair = { $in: ['r1', 'r2'] };
      expect(
        await col
          .find({
            $or: [
              { tenant_code: 't', peid: pair },
              { tenant_code: 'u', peid: 'r3' },
            ],
          })
          .toArray(),
        step,
      ).toEqual(
        await col
          .find({
            $or: [
              { tenant_code: 't', peid: { $eq: 'r1' } },
              { tenant_code: 't', peid: { $eq: 'r2' } },
              { tenant_code: 'u', peid: { $eq: 'r3' } },
            ],
          })
          .toArray(),
      );
      const all = await col.find({}).toArray();
      for (const r of runs) {
        const expected = all.filter((d) => d.peid === r || (Array.isArray(d.peid) && d.peid.includes(r)));
        expect(await col.countDocuments({ peid: r }), `${step}: count ${r}`).toBe(expected.length);
      }
    };

    await agree('inserted');
    expect(await col.countDocuments({ peid: 'r1' })).toBe(31);
    // Move documents between runs (updateMany, bulk by _id, findOneAndUpdate), delete a run, reuse its slots.
    await col.updateMany({ peid: 'r3', task_seq: { $lt: 10 } }, { $set: { peid: 'r10' } });
    await col.bulkWrite([
      { updateOne: { filter: { _id: 'd0', tenant_code: 't' }, update: { $set: { peid: 'r11' } } } },
      { updateOne: { filter: { _id: 'd1' }, update: { $unset: { peid: '' } } } },
      { updateOne: { filter: { _id: 'no-peid' }, update: { $set: { peid: 'r2' } } } },
    ]);
    await col.findOneAndUpdate({ peid: 'r4', tenant_code: 't' }, { $set: { peid: ['r5', 'r6'] } });
    await agree('moved');
    await col.deleteMany({ peid: 'r5' });
    expect(await col.countDocuments({ peid: 'r5' })).toBe(0);
    await col.insertMany(Array.from({ length: 40 }, (_, i) => doc(runs[(i % 3) + 5])));
    await col.deleteOne({ peid: 'r2', tenant_code: 'u' });
    await agree('deleted and refilled');
    await col.drop();
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
