// Lambda's SQS event source mapping for one function and one queue, on any SQS-compatible server
// (ElasticMQ locally). One implementation for `npm start` (tools/sqs-event-source/serverless-plugin.mjs
// feeds serverless-offline with it) and the tests (test/support/sqs-poller.ts adds test hooks on top).
//
// What it does as Lambda does (AWS Lambda developer guide, "Using Lambda with Amazon SQS"):
// - at most `maximumConcurrency` invocations at once: one receive at a time, made only while an
//   invocation slot is free, each batch invoked at once without waiting for the others (one
//   receiver rather than several: ElasticMQ hands the messages of one SendMessageBatch to the
//   receives waiting at that moment one or a few each, where SQS's long poll returns them together);
// - long polling: a receive returns as soon as messages arrive; with `maximumBatchingWindowSeconds`
//   0 the messages of one receive are the batch, otherwise it keeps receiving until `batchSize`
//   messages or the window has passed;
// - receives with the queue's visibility timeout (the one the deployed queue has, when given);
// - invokes with a real-shaped SQS event (records with attributes, message attributes, md5, ARN);
// - after the invocation deletes every message except, with `reportBatchItemFailures`, those named
//   in `batchItemFailures`; a response naming an unknown or empty identifier, or a handler error,
//   fails the whole batch (nothing deleted); failed messages come back after the visibility
//   timeout, and the queue's redrive policy moves them to its DLQ after maxReceiveCount receives.
// Node built-ins and @aws-sdk/client-sqs only.

import { createHash, randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';

/** SQS's own limits: 10 messages per receive or delete, 20 s of long polling. */
const SQS_MAX_BATCH = 10;
const SQS_MAX_WAIT_SECONDS = 20;
const RECEIVE_RETRY_MS = 200;

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The names of the records that failed, by Lambda's rules for a handler's answer.
 * @param {unknown} response what the handler returned
 * @param {{ messageId: string }[]} records
 * @param {boolean} reportBatchItemFailures functionResponseType ReportBatchItemFailures
 * @returns {Set<string>}
 */
export function failedMessageIds(response, records, reportBatchItemFailures) {
  if (!reportBatchItemFailures) return new Set();
  const all = new Set(records.map((r) => r.messageId));
  if (response === null || response === undefined) return new Set();
  if (typeof response !== 'object') return all;
  const failures = /** @type {{ batchItemFailures?: unknown }} */ (response).batchItemFailures;
  if (failures === null || failures === undefined) return new Set();
  if (!Array.isArray(failures)) return all;
  /** @type {Set<string>} */
  const failed = new Set();
  for (const f of failures) {
    const id = f && typeof f === 'object' ? /** @type {{ itemIdentifier?: unknown }} */ (f).itemIdentifier : undefined;
    // An empty, missing or unknown identifier fails the whole batch.
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

/** @param {Uint8Array | undefined} b */
const base64 = (b) => (b === undefined ? undefined : Buffer.from(b).toString('base64'));

/**
 * One SQS message as Lambda hands it to the function.
 * @param {import('@aws-sdk/client-sqs').Message} m
 * @param {{ eventSourceArn: string, awsRegion: string }} source
 * @returns {import('aws-lambda').SQSRecord}
 */
export function toRecord(m, source) {
  const now = String(Date.now());
  const attrs = m.Attributes ?? {};
  /** @type {Record<string, import('aws-lambda').SQSMessageAttribute>} */
  const messageAttributes = {};
  for (const [name, a] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[name] = /** @type {import('aws-lambda').SQSMessageAttribute} */ ({
      ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { binaryValue: base64(a.BinaryValue) } : {}),
      stringListValues: a.StringListValues ?? [],
      binaryListValues: (a.BinaryListValues ?? []).map((b) => /** @type {string} */ (base64(b))),
      dataType: /** @type {import('aws-lambda').SQSMessageAttributeDataType} */ (a.DataType ?? 'String'),
    });
  }
  const body = m.Body ?? '';
  return {
    messageId: m.MessageId ?? randomUUID(),
    receiptHandle: m.ReceiptHandle ?? '',
    body,
    attributes: {
      ...attrs,
      ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
      SentTimestamp: attrs.SentTimestamp ?? now,
      SenderId: attrs.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? now,
    },
    messageAttributes,
    md5OfBody: m.MD5OfBody ?? createHash('md5').update(body).digest('hex'),
    ...(m.MD5OfMessageAttributes !== undefined ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: source.eventSourceArn,
    awsRegion: source.awsRegion,
  };
}

export class SqsEventSource {
  /** @param {import('./event-source.d.mts').EventSourceOptions} opts */
  constructor(opts) {
    const batchSize = opts.batchSize ?? 10;
    const maximumConcurrency = opts.maximumConcurrency ?? 5;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw new RangeError(`batchSize ${batchSize}: 1 to 10000`);
    }
    if (!Number.isInteger(maximumConcurrency) || maximumConcurrency < 1) {
      throw new RangeError(`maximumConcurrency ${maximumConcurrency}: at least 1`);
    }
    const queueName = opts.queueUrl.split('/').pop() || 'queue';
    const awsRegion = opts.awsRegion ?? 'us-east-1';
    this.opts = {
      ...opts,
      batchSize,
      maximumConcurrency,
      maximumBatchingWindowSeconds: opts.maximumBatchingWindowSeconds ?? 0,
      reportBatchItemFailures: opts.reportBatchItemFailures ?? false,
      waitTimeSeconds: Math.min(opts.waitTimeSeconds ?? SQS_MAX_WAIT_SECONDS, SQS_MAX_WAIT_SECONDS),
    };
    this.source = {
      eventSourceArn: opts.eventSourceArn ?? `arn:aws:sqs:${awsRegion}:000000000000:${queueName}`,
      awsRegion,
    };
    /** @type {import('./event-source.d.mts').EventSourceStats} */
    this.stats = {
      invocations: 0,
      messagesReceived: 0,
      handlerErrors: 0,
      messagesDeleted: 0,
      messagesFailed: 0,
      inFlight: 0,
      maxInFlight: 0,
    };
    this.running = false;
    /** @type {Promise<void> | undefined} */
    this.loop = undefined;
  }

  /** Starts receiving. */
  start() {
    if (this.running) return this;
    this.running = true;
    this.loop = this.poll();
    return this;
  }

  /** Stops receiving (a receive under way finishes, up to waitTimeSeconds) and waits for the invocations in flight. */
  async stop() {
    this.running = false;
    await this.loop;
    this.loop = undefined;
  }

  /** @private */
  async poll() {
    /** @type {Set<Promise<void>>} */
    const inFlight = new Set();
    while (this.running) {
      if (inFlight.size >= this.opts.maximumConcurrency) {
        await Promise.race(inFlight);
        continue;
      }
      const messages = await this.collect();
      if (messages.length === 0) continue;
      this.stats.messagesReceived += messages.length;
      const invocation = this.handle(messages)
        .catch((err) => this.opts.onError?.(err, 'invoke'))
        .finally(() => inFlight.delete(invocation));
      inFlight.add(invocation);
    }
    await Promise.all(inFlight);
  }

  /**
   * @private
   * @param {import('@aws-sdk/client-sqs').Message[]} received
   */
  async handle(received) {
    let messages = received;
    if (this.opts.beforeInvoke) {
      try {
        messages = await this.opts.beforeInvoke(messages);
      } catch (err) {
        // Not invoked, not deleted: back after the visibility timeout.
        this.opts.onError?.(err, 'beforeInvoke');
        return;
      }
    }
    await this.invoke(messages);
  }

  /**
   * One batch: the first receive long-polls; with a batching window, further receives fill the
   * batch until it is full or the window has passed.
   * @private
   * @returns {Promise<import('@aws-sdk/client-sqs').Message[]>}
   */
  async collect() {
    const { batchSize, maximumBatchingWindowSeconds, waitTimeSeconds } = this.opts;
    /** @type {import('@aws-sdk/client-sqs').Message[]} */
    const batch = [];
    let deadline = 0;
    while (this.running && batch.length < batchSize) {
      const wait =
        batch.length === 0 ? waitTimeSeconds : Math.min(waitTimeSeconds, Math.ceil((deadline - Date.now()) / 1000));
      const got = await this.receive(Math.min(SQS_MAX_BATCH, batchSize - batch.length), Math.max(0, wait));
      if (got === undefined) return batch;
      if (batch.length === 0 && got.length > 0) deadline = Date.now() + maximumBatchingWindowSeconds * 1000;
      batch.push(...got);
      if (batch.length > 0 && (maximumBatchingWindowSeconds === 0 || Date.now() >= deadline)) break;
    }
    return batch;
  }

  /**
   * @private
   * @param {number} max @param {number} waitSeconds
   * @returns {Promise<import('@aws-sdk/client-sqs').Message[] | undefined>} undefined after an error
   */
  async receive(max, waitSeconds) {
    try {
      const res = await this.opts.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.opts.queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: waitSeconds,
          ...(this.opts.visibilityTimeoutSeconds !== undefined
            ? { VisibilityTimeout: this.opts.visibilityTimeoutSeconds }
            : {}),
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      return res.Messages ?? [];
    } catch (err) {
      this.opts.onError?.(err, 'receive');
      if (this.running) await sleep(RECEIVE_RETRY_MS);
      return undefined;
    }
  }

  /**
   * @private
   * @param {import('@aws-sdk/client-sqs').Message[]} messages
   */
  async invoke(messages) {
    const records = messages.map((m) => toRecord(m, this.source));
    this.stats.inFlight += 1;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
    this.stats.invocations += 1;
    /** @type {Set<string>} */
    let failed;
    try {
      const response = await this.opts.invoke({ Records: records });
      failed = failedMessageIds(response, records, this.opts.reportBatchItemFailures);
    } catch (err) {
      this.stats.handlerErrors += 1;
      this.opts.onError?.(err, 'invoke');
      failed = new Set(records.map((r) => r.messageId));
    } finally {
      this.stats.inFlight -= 1;
    }
    this.stats.messagesFailed += failed.size;
    // Copies made up by a test hook have no receipt handle: nothing to delete.
    const done = records.filter((r) => !failed.has(r.messageId) && r.receiptHandle !== '');
    for (let i = 0; i < done.length; i += SQS_MAX_BATCH) {
      const chunk = done.slice(i, i + SQS_MAX_BATCH);
      try {
        const res = await this.opts.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.opts.queueUrl,
            Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
          }),
        );
        this.stats.messagesDeleted += res.Successful?.length ?? 0;
      } catch (err) {
        // Not deleted: the message comes back after the visibility timeout, as after a crash.
        this.opts.onError?.(err, 'delete');
      }
    }
  }
}
