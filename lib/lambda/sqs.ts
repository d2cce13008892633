/**
 * The SQS consumers' stacks (base.ts): a batch handler reporting partial batch failures (the
 * task queue's consumer, the hot path: untraced, its bundle stays free of the X-Ray SDK,
 * lib/tracing.ts), and an all-or-nothing one (the DLQ's consumer, which opts into tracing).
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { baseHandler } from './base.js';

export interface SqsBatchItem {
  messageId: string;
  body: string;
}

/** Runs `handle` on each batch's messages; the message ids it returns are left on the queue (batchItemFailures). */
export function sqsBatchHandler(handle: (items: SqsBatchItem[], context: Context) => Promise<string[]>) {
  return baseHandler<SQSEvent, SQSBatchResponse>().handler(async (event, context) => {
    const failed = await handle(
      event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
      context,
    );
    return { batchItemFailures: failed.map((id) => ({ itemIdentifier: id })) };
  });
}

/** Runs `handle` on each batch's message bodies; a throw leaves the whole batch on the queue. */
export function sqsHandler(
  handle: (bodies: string[], context: Context) => Promise<void>,
  before: MiddlewareObj[] = [],
) {
  return baseHandler<SQSEvent, void>(before).handler(async (event, context) => {
    await handle(
      event.Records.map((r) => r.body),
      context,
    );
  });
}
