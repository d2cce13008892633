/**
 * The Lambda-like SQS event source of the tests: tools/sqs-event-source/event-source.mjs (the one
 * `npm start` feeds executeTask with: batches, maximum concurrency, batchItemFailures, deletes)
 * invoking a handler in-process, plus test hooks that make SQS's at-least-once delivery happen on
 * purpose (copies, shuffled batches).
 */
import { randomUUID } from 'node:crypto';
import { type Message, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type EventSourceStats, SqsEventSource } from '../../tools/sqs-event-source/event-source.mjs';
import { lambdaContext } from './lambda-context.js';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: SqsHandler;
  functionName?: string;
  batchSize?: number;
  maxConcurrency?: number;
  functionTimeoutMs?: number;
  waitTimeSeconds?: number;
  /** Test hook: send one extra copy of every message the first time it is received (at-least-once). */
  duplicateEachMessage?: boolean;
  /**
   * Test hook: deliver every message 1 to `maxDeliveries` times in all (chosen at random the
   * first time it is received). Each extra delivery is, at random, either a copy inside the
   * same batch (as SQS may hand one message to one invocation twice) or a copy sent back to
   * the queue (a later or concurrent delivery). Batches are shuffled.
   */
  randomDuplicates?: { maxDeliveries: number; random?: () => number };
  /** Test hook: shuffle the records of every batch. */
  shuffle?: boolean;
}

export interface PollerStats extends EventSourceStats {
  /** Extra deliveries made by `duplicateEachMessage` / `randomDuplicates`. */
  extraDeliveries: number;
}

export class SqsPoller {
  private readonly source: SqsEventSource;
  private extraDeliveries = 0;
  private readonly duplicated = new Set<string>();
  private readonly opts: PollerOptions;

  constructor(opts: PollerOptions) {
    this.opts = opts;
    const functionName = opts.functionName ?? 'executeTask';
    const timeoutMs = opts.functionTimeoutMs ?? 60_000;
    const hooked = opts.duplicateEachMessage || opts.randomDuplicates || opts.shuffle;
    this.source = new SqsEventSource({
      sqs: opts.sqs,
      queueUrl: opts.queueUrl,
      batchSize: opts.batchSize ?? 10,
      maximumConcurrency: opts.maxConcurrency ?? 10,
      reportBatchItemFailures: true,
      waitTimeSeconds: opts.waitTimeSeconds ?? 1,
      invoke: (event) => opts.handler(event, lambdaContext(functionName, timeoutMs)),
      ...(hooked ? { beforeInvoke: (messages: Message[]) => this.hooks(messages) } : {}),
    });
  }

  /** The event source's counters, plus the extra deliveries the test hooks made. */
  get stats(): PollerStats {
    return { ...this.source.stats, extraDeliveries: this.extraDeliveries };
  }

  /** Starts `maxConcurrency` receive-invoke loops. */
  start(): this {
    this.source.start();
    return this;
  }

  /** Stops receiving and waits for the invocations in flight. */
  async stop(): Promise<void> {
    await this.source.stop();
  }

  /** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
  async until<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async hooks(received: Message[]): Promise<Message[]> {
    let messages = received;
    if (this.opts.duplicateEachMessage) await this.duplicate(messages);
    if (this.opts.randomDuplicates) messages = await this.duplicateRandomly(messages, this.opts.randomDuplicates);
    if (this.opts.shuffle || this.opts.randomDuplicates) shuffle(messages, this.opts.randomDuplicates?.random);
    return messages;
  }

  private async duplicate(messages: Message[]): Promise<void> {
    for (const m of messages) {
      const key = m.MessageId ?? '';
      if (this.duplicated.has(key) || m.Body === undefined) continue;
      this.duplicated.add(key);
      const copy = await this.opts.sqs.send(
        new SendMessageCommand({ QueueUrl: this.opts.queueUrl, MessageBody: m.Body }),
      );
      // The copy is itself a delivery, not a message to duplicate again.
      if (copy.MessageId) this.duplicated.add(copy.MessageId);
      this.extraDeliveries += 1;
    }
  }

  private async duplicateRandomly(
    messages: Message[],
    opts: NonNullable<PollerOptions['randomDuplicates']>,
  ): Promise<Message[]> {
    const random = opts.random ?? Math.random;
    const out = [...messages];
    for (const m of messages) {
      const key = m.MessageId ?? '';
      if (this.duplicated.has(key) || m.Body === undefined) continue;
      this.duplicated.add(key);
      const extra = Math.floor(random() * Math.max(1, opts.maxDeliveries));
      for (let i = 0; i < extra; i++) {
        this.extraDeliveries += 1;
        if (random() < 0.5) {
          // A copy inside the batch: no receipt handle, so the event source never deletes it.
          out.push({ ...m, MessageId: randomUUID(), ReceiptHandle: undefined });
        } else {
          const copy = await this.opts.sqs.send(
            new SendMessageCommand({ QueueUrl: this.opts.queueUrl, MessageBody: m.Body }),
          );
          if (copy.MessageId) this.duplicated.add(copy.MessageId);
        }
      }
    }
    return out;
  }
}

/** Fisher-Yates, in place. */
function shuffle<T>(items: T[], random: () => number = Math.random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
