// Types for tools/sqs-event-source/event-source.mjs (plain ESM JavaScript), for TypeScript importers
// such as test/support/sqs-poller.ts. Keep in sync with the JSDoc there.
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Runs the function with one event; what it returns is its response, what it throws a function error. */
  invoke: (event: SQSEvent) => Promise<unknown>;
  /** Messages per invocation (1-10000; above 10 needs a batching window). Default 10. */
  batchSize?: number;
  /** How long to gather a batch after its first message, in seconds. Default 0. */
  maximumBatchingWindowSeconds?: number;
  /** Invocations at once. Default 5. */
  maximumConcurrency?: number;
  /** functionResponseType ReportBatchItemFailures: honour `batchItemFailures`. Default false. */
  reportBatchItemFailures?: boolean;
  /** Passed on every receive (the deployed queue's VisibilityTimeout); the queue's own when unset. */
  visibilityTimeoutSeconds?: number;
  /** Long-poll time of each receive (at most 20). Default 20. */
  waitTimeSeconds?: number;
  /** The records' eventSourceARN. Default arn:aws:sqs:REGION:000000000000:QUEUE-NAME. */
  eventSourceArn?: string;
  /** The records' awsRegion. Default us-east-1. */
  awsRegion?: string;
  /** Called with the received messages before each invocation; returns the messages to invoke with. */
  beforeInvoke?: (messages: Message[]) => Promise<Message[]>;
  /** Errors of receives, invocations and deletes (all recovered from). */
  onError?: (err: unknown, where: 'receive' | 'beforeInvoke' | 'invoke' | 'delete') => void;
}

export interface EventSourceStats {
  invocations: number;
  /** Messages received from the queue (counted on receipt, before the function runs). */
  messagesReceived: number;
  /** Invocations that threw (their whole batch failed). */
  handlerErrors: number;
  messagesDeleted: number;
  /** Records not deleted after their invocation (reported failures and failed invocations). */
  messagesFailed: number;
  inFlight: number;
  maxInFlight: number;
}

export function failedMessageIds(
  response: unknown,
  records: ReadonlyArray<{ messageId: string }>,
  reportBatchItemFailures: boolean,
): Set<string>;

export function toRecord(m: Message, source: { eventSourceArn: string; awsRegion: string }): SQSRecord;

export class SqsEventSource {
  constructor(opts: EventSourceOptions);
  readonly stats: EventSourceStats;
  start(): this;
  stop(): Promise<void>;
}
