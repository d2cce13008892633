/**
 * The local SQS event source's rules (tools/sqs-event-source/): which records fail by Lambda's
 * rules for a handler's answer, the record shape, and the settings the serverless-offline plugin
 * reads from serverless.yml as AWS reads them (resolved by `serverless print --stage local`).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { failedMessageIds, toRecord } from '../../tools/sqs-event-source/event-source.mjs';
import { sqsMappings } from '../../tools/sqs-event-source/serverless-plugin.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SLS = path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
const records = [{ messageId: 'a' }, { messageId: 'b' }, { messageId: 'c' }];
const ids = (s: Set<string>) => [...s].sort();

describe('failedMessageIds (ReportBatchItemFailures)', () => {
  it('fails only the reported records', () => {
    expect(ids(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'b' }] }, records, true))).toEqual(['b']);
  });

  it('fails nothing for an empty list, a null list or no answer', () => {
    expect(failedMessageIds({ batchItemFailures: [] }, records, true).size).toBe(0);
    expect(failedMessageIds({ batchItemFailures: null }, records, true).size).toBe(0);
    expect(failedMessageIds(undefined, records, true).size).toBe(0);
    expect(failedMessageIds(null, records, true).size).toBe(0);
  });

  it('fails the whole batch for an unknown, empty or missing identifier, or a malformed answer', () => {
    const all = ['a', 'b', 'c'];
    expect(ids(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'zzz' }] }, records, true))).toEqual(all);
    expect(ids(failedMessageIds({ batchItemFailures: [{ itemIdentifier: '' }] }, records, true))).toEqual(all);
    expect(ids(failedMessageIds({ batchItemFailures: [{}] }, records, true))).toEqual(all);
    expect(ids(failedMessageIds({ batchItemFailures: 'b' }, records, true))).toEqual(all);
    expect(ids(failedMessageIds('not an object', records, true))).toEqual(all);
  });

  it('ignores batchItemFailures without ReportBatchItemFailures', () => {
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'b' }] }, records, false).size).toBe(0);
  });
});

describe('toRecord', () => {
  it('shapes a received message as Lambda does', () => {
    const r = toRecord(
      {
        MessageId: 'm-1',
        ReceiptHandle: 'rh',
        Body: '{"x":1}',
        MD5OfBody: 'md5',
        Attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1', AWSTraceHeader: 'Root=1-abc' },
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'task' } },
      },
      { eventSourceArn: 'arn:aws:sqs:eu-west-1:123:q', awsRegion: 'eu-west-1' },
    );
    expect(r).toMatchObject({
      messageId: 'm-1',
      receiptHandle: 'rh',
      body: '{"x":1}',
      md5OfBody: 'md5',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123:q',
      awsRegion: 'eu-west-1',
      attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1', AWSTraceHeader: 'Root=1-abc' },
      messageAttributes: {
        kind: { dataType: 'String', stringValue: 'task', stringListValues: [], binaryListValues: [] },
      },
    });
    expect(r.attributes.ApproximateFirstReceiveTimestamp).toMatch(/^\d+$/);
  });
});

describe('sqsMappings: serverless.yml read as AWS reads it', () => {
  let resolved: {
    functions: Record<string, unknown>;
    resources: { Resources: Record<string, unknown> };
    provider: { timeout: number };
  };

  beforeAll(async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [SLS, 'print', '--stage', 'local', '--format', 'json'],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    resolved = JSON.parse(stdout);
  }, 60_000);

  it('feeds executeTask and dlqHandler with the deployed settings and queue visibility timeouts', () => {
    const mappings = sqsMappings({
      functions: resolved.functions,
      resources: resolved.resources.Resources,
      providerTimeout: resolved.provider.timeout,
    });
    expect(mappings).toEqual([
      {
        functionKey: 'executeTask',
        functionName: 'playbook-service-local-executeTask',
        queueName: 'playbook-service-local-tasks',
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 10,
        reportBatchItemFailures: true,
        visibilityTimeoutSeconds: 720,
        functionTimeoutSeconds: 120,
      },
      {
        functionKey: 'dlqHandler',
        functionName: 'playbook-service-local-dlqHandler',
        queueName: 'playbook-service-local-tasks-dlq',
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 2,
        reportBatchItemFailures: false,
        visibilityTimeoutSeconds: 360,
        functionTimeoutSeconds: 60,
      },
    ]);
  });

  const queue = { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'q', VisibilityTimeout: 60 } };
  const service = (sqs: Record<string, unknown>, timeout = 30) => ({
    functions: { f: { name: 'svc-f', timeout, events: [{ sqs: { arn: { 'Fn::GetAtt': ['Q', 'Arn'] }, ...sqs } }] } },
    resources: { Q: queue },
  });

  it('takes a literal queue ARN, the defaults and skips disabled events', () => {
    const [m] = sqsMappings({
      functions: {
        f: { events: [{ sqs: 'arn:aws:sqs:us-east-1:000000000000:q' }, { sqs: { arn: 'x:q', enabled: false } }] },
      },
      resources: { Q: queue },
      providerTimeout: 6,
    });
    expect(sqsMappings({ functions: { f: { events: [{ sqs: 'arn:aws:sqs:r:1:q' }] } }, resources: {} })).toHaveLength(
      1,
    );
    expect(m).toMatchObject({
      functionName: 'f',
      queueName: 'q',
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      maximumConcurrency: 5,
      reportBatchItemFailures: false,
      visibilityTimeoutSeconds: 60,
      functionTimeoutSeconds: 6,
    });
  });

  it('refuses what AWS refuses, naming the event', () => {
    expect(() => sqsMappings(service({}, 90))).toThrow(/events\[0\]\.sqs: queue q's VisibilityTimeout \(60 s\)/);
    expect(() => sqsMappings(service({ batchSize: 20 }))).toThrow(/maximumBatchingWindow of at least 1 s/);
    expect(() => sqsMappings(service({ maximumConcurrency: 1 }))).toThrow(/maximumConcurrency is 2\.\.1000/);
    expect(() => sqsMappings(service({ batchSize: 0 }))).toThrow(/batchSize is 1\.\.10000/);
    expect(() => sqsMappings(service({ arn: { 'Fn::GetAtt': ['Nope', 'Arn'] } }))).toThrow(/Fn::GetAtt/);
    expect(sqsMappings(service({ batchSize: 20, maximumBatchingWindow: 2 }))[0]).toMatchObject({ batchSize: 20 });
  });
});
