/**
 * The Lambda-like SQS event source that feeds `npm start`'s consumers and the tests'
 * (tools/sqs-event-source/event-source.mjs), against the local SQS-compatible server: deletes
 * exactly what Lambda deletes, honours maximumConcurrency and the batching window, and hands the
 * function a real-shaped event. Each test has a queue of its own; failed messages come back after
 * the visibility timeout given to the event source (1 s).
 */
import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqsClient } from '../../lib/clients.js';
import { type EventSourceOptions, SqsEventSource } from '../../tools/sqs-event-source/event-source.mjs';

const region = process.env.AWS_REGION ?? 'us-east-1';
const sqs = createSqsClient(region, process.env.SQS_ENDPOINT);
const queues: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  await Promise.allSettled(queues.map((q) => sqs.send(new DeleteQueueCommand({ QueueUrl: q }))));
  sqs.destroy();
});

async function newQueue(): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `es-${randomUUID().slice(0, 8)}` }));
  const url = QueueUrl ?? '';
  queues.push(url);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: Attributes?.QueueArn ?? '' };
}

async function send(queueUrl: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })),
      }),
    );
  }
}

/** Messages left in the queue, visible or not (not deleted). */
async function leftInQueue(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function source(queueUrl: string, invoke: EventSourceOptions['invoke'], opts: Partial<EventSourceOptions> = {}) {
  return new SqsEventSource({
    sqs,
    queueUrl,
    invoke,
    reportBatchItemFailures: true,
    visibilityTimeoutSeconds: 1,
    waitTimeSeconds: 1,
    maximumConcurrency: 2,
    ...opts,
  });
}

/** `body#receiveCount` of every record delivered. */
const deliveries = (log: string[]) => (e: SQSEvent) => {
  for (const r of e.Records) log.push(`${r.body}#${r.attributes.ApproximateReceiveCount}`);
};

describe('SqsEventSource against the local SQS server', () => {
  it('deletes a batch except the record reported in batchItemFailures: only that message comes back', async () => {
    const q = await newQueue();
    await send(q.url, ['m1', 'm2', 'm3', 'm4']);
    const seen: string[] = [];
    const es = source(q.url, async (e) => {
      deliveries(seen)(e);
      const failed = e.Records.filter((r) => r.body === 'm3' && r.attributes.ApproximateReceiveCount === '1');
      return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
    }).start();
    await until(() => seen.includes('m3#2'), 'the redelivery of m3');
    await es.stop();
    expect(seen.sort()).toEqual(['m1#1', 'm2#1', 'm3#1', 'm3#2', 'm4#1']);
    expect(es.stats).toMatchObject({ messagesReceived: 5, messagesDeleted: 4, messagesFailed: 1, handlerErrors: 0 });
    expect(await leftInQueue(q.url)).toBe(0);
  });

  it('deletes nothing of a batch whose invocation throws: every message comes back', async () => {
    const q = await newQueue();
    await send(q.url, ['a', 'b', 'c']);
    const seen: string[] = [];
    const es = source(q.url, async (e) => {
      deliveries(seen)(e);
      // Every first delivery crashes its invocation.
      if (e.Records.some((r) => r.attributes.ApproximateReceiveCount === '1')) throw new Error('crash');
      return undefined;
    }).start();
    await until(() => es.stats.messagesDeleted === 3, 'all three deleted');
    await es.stop();
    expect(seen.filter((s) => s.endsWith('#1')).sort()).toEqual(['a#1', 'b#1', 'c#1']);
    expect(seen.filter((s) => s.endsWith('#2')).sort()).toEqual(['a#2', 'b#2', 'c#2']);
    expect(es.stats.handlerErrors).toBeGreaterThan(0);
    expect(es.stats.messagesFailed).toBe(3);
    expect(await leftInQueue(q.url)).toBe(0);
  });

  it('fails the whole batch when the answer names an unknown record', async () => {
    const q = await newQueue();
    await send(q.url, ['x', 'y']);
    const seen: string[] = [];
    const es = source(q.url, async (e) => {
      deliveries(seen)(e);
      const first = e.Records.some((r) => r.attributes.ApproximateReceiveCount === '1');
      return { batchItemFailures: first ? [{ itemIdentifier: 'not-in-this-batch' }] : [] };
    }).start();
    await until(() => es.stats.messagesDeleted === 2, 'both deleted');
    await es.stop();
    expect(seen.filter((s) => s.endsWith('#1')).sort()).toEqual(['x#1', 'y#1']);
    expect(seen.filter((s) => s.endsWith('#2')).sort()).toEqual(['x#2', 'y#2']);
  });

  it('without ReportBatchItemFailures a returned batchItemFailures list is ignored: all deleted', async () => {
    const q = await newQueue();
    await send(q.url, ['p', 'q']);
    const seen: string[] = [];
    const es = source(
      q.url,
      async (e) => {
        deliveries(seen)(e);
        return { batchItemFailures: e.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      },
      { reportBatchItemFailures: false },
    ).start();
    await until(() => es.stats.messagesDeleted === 2, 'both deleted');
    await es.stop();
    expect(seen.sort()).toEqual(['p#1', 'q#1']);
    expect(await leftInQueue(q.url)).toBe(0);
  });

  it('runs at most maximumConcurrency invocations at once, and reaches it', async () => {
    const q = await newQueue();
    await send(
      q.url,
      Array.from({ length: 30 }, (_, i) => `n${i}`),
    );
    let now = 0;
    let peak = 0;
    const es = source(
      q.url,
      async () => {
        now += 1;
        peak = Math.max(peak, now);
        await sleep(30);
        now -= 1;
        return undefined;
      },
      { maximumConcurrency: 3, batchSize: 1 },
    ).start();
    await until(() => es.stats.messagesDeleted === 30, 'all 30 handled');
    await es.stop();
    expect(peak).toBe(3);
    expect(es.stats).toMatchObject({ invocations: 30, maxInFlight: 3 });
  });

  it('gathers a batch for maximumBatchingWindow, up to batchSize', async () => {
    const q = await newQueue();
    const batches: string[][] = [];
    const es = source(
      q.url,
      async (e) => {
        batches.push(e.Records.map((r) => r.body).sort());
        return undefined;
      },
      // The visibility timeout covers the window (the messages wait in the batch being gathered).
      { batchSize: 5, maximumBatchingWindowSeconds: 3, visibilityTimeoutSeconds: 10 },
    ).start();
    await send(q.url, ['w1']);
    await sleep(300);
    await send(q.url, ['w2', 'w3', 'w4', 'w5', 'w6']);
    await until(() => es.stats.messagesDeleted === 6, 'all six handled');
    await es.stop();
    // w1 waited for four of the five sent after it: one full batch, then the sixth.
    expect(batches.map((b) => b.length)).toEqual([5, 1]);
    expect(batches[0]).toContain('w1');
    expect(batches.flat().sort()).toEqual(['w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
  });

  it('hands the function a real-shaped SQS event', async () => {
    const q = await newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.url,
        MessageBody: '{"task":"t"}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'task' } },
      }),
    );
    const records: SQSRecord[] = [];
    const es = source(
      q.url,
      async (e) => {
        records.push(...e.Records);
        return undefined;
      },
      { eventSourceArn: q.arn, awsRegion: region },
    ).start();
    await until(() => es.stats.messagesDeleted === 1, 'the message handled');
    await es.stop();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      body: '{"task":"t"}',
      eventSource: 'aws:sqs',
      eventSourceARN: q.arn,
      awsRegion: region,
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: { kind: { dataType: 'String', stringValue: 'task' } },
    });
    expect(records[0]?.receiptHandle).not.toBe('');
    expect(records[0]?.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
  });
});
