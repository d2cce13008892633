/**
 * A Lambda-like SQS event source for tests: receives batches from the real
 * queue, invokes the consumer handler with a real-shaped SQSEvent, deletes only
 * the messages not reported in batchItemFailures (none when the handler
 * throws), and never runs more than `maxConcurrency` invocations at once —
 * the two behaviours serverless-offline-sqs does not emulate.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
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

export interface PollerStats {
  invocations: number;
  /** Messages received from the queue (counted on receipt, before the handler runs). */
  messagesReceived: number;
  handlerErrors: number;
  messagesDeleted: number;
  messagesFailed: number;
  maxInFlight: number;
  /** Extra deliveries made by `duplicateEachMessage` / `randomDuplicates`. */
  extraDeliveries: number;
}

export class SqsPoller {
  readonly stats: PollerStats = {
    invocations: 0,
    messagesReceived: 0,
    handlerErrors: 0,
    messagesDeleted: 0,
    messagesFailed: 0,
    maxInFlight: 0,
    extraDeliveries: 0,
  };
  private running = false;
  private inFlight = 0;
  private loops: Promise<void>[] = [];
  private readonly duplicated = new Set<string>();
  /** In-batch copies: they have no receipt handle and are never deleted. */
  private readonly synthetic = new Set<string>();
  private readonly opts: Required<Omit<PollerOptions, 'duplicateEachMessage' | 'randomDuplicates' | 'shuffle'>> &
    Pick<PollerOptions, 'randomDuplicates'> & { duplicateEachMessage: boolean; shuffle: boolean };
  private readonly arn: string;

  constructor(opts: PollerOptions) {
    this.opts = {
      functionName: 'executeTask',
      batchSize: 10,
      maxConcurrency: 10,
      functionTimeoutMs: 60_000,
      waitTimeSeconds: 1,
      duplicateEachMessage: false,
      shuffle: false,
      ...opts,
    };
    this.arn = `arn:aws:sqs:us-east-1:000000000000:${opts.queueUrl.split('/').pop() ?? 'queue'}`;
  }

  /** Starts `maxConcurrency` receive-invoke loops. */
  start(): this {
    if (this.running) return this;
    this.running = true;
    for (let i = 0; i < this.opts.maxConcurrency; i++) this.loops.push(this.loop());
    return this;
  }

  /** Stops receiving and waits for the invocations in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
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

  private async loop(): Promise<void> {
    const { sqs, queueUrl } = this.opts;
    while (this.running) {
      let messages: Message[];
      try {
        const res = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: this.opts.batchSize,
            WaitTimeSeconds: this.opts.waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        messages = res.Messages ?? [];
      } catch {
        if (!this.running) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (messages.length === 0) continue;
      this.stats.messagesReceived += messages.length;
      if (this.opts.duplicateEachMessage) await this.duplicate(messages);
      if (this.opts.randomDuplicates) messages = await this.duplicateRandomly(messages, this.opts.randomDuplicates);
      if (this.opts.shuffle || this.opts.randomDuplicates) shuffle(messages, this.opts.randomDuplicates?.random);
      await this.invoke(messages);
    }
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
      this.stats.extraDeliveries += 1;
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
        this.stats.extraDeliveries += 1;
        if (random() < 0.5) {
          const id = randomUUID();
          this.synthetic.add(id);
          out.push({ ...m, MessageId: id, ReceiptHandle: undefined });
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

  private toRecord(m: Message): SQSRecord {
    const attrs = m.Attributes ?? {};
    return {
      messageId: m.MessageId ?? randomUUID(),
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
        SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
        SenderId: attrs.SenderId ?? '000000000000',
        ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody:
        m.MD5OfBody ??
        createHash('md5')
          .update(m.Body ?? '')
          .digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: 'us-east-1',
    };
  }

  private async invoke(messages: Message[]): Promise<void> {
    const records = messages.map((m) => this.toRecord(m));
    this.inFlight += 1;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight);
    this.stats.invocations += 1;
    let failedIds: Set<string>;
    try {
      const res = await this.opts.handler(
        { Records: records },
        lambdaContext(this.opts.functionName, this.opts.functionTimeoutMs),
      );
      const failures = res?.batchItemFailures ?? [];
      const known = new Set(records.map((r) => r.messageId));
      // As Lambda does: an unknown or empty identifier fails the whole batch.
      failedIds = failures.every((f) => known.has(f.itemIdentifier))
        ? new Set(failures.map((f) => f.itemIdentifier))
        : known;
    } catch {
      this.stats.handlerErrors += 1;
      failedIds = new Set(records.map((r) => r.messageId));
    } finally {
      this.inFlight -= 1;
    }
    this.stats.messagesFailed += failedIds.size;
    const done = records.filter((r) => !failedIds.has(r.messageId) && !this.synthetic.has(r.messageId));
    if (done.length === 0) return;
    await this.opts.sqs
      .send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.opts.queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      )
      .then((res) => {
        this.stats.messagesDeleted += res.Successful?.length ?? 0;
      })
      .catch(() => undefined);
  }
}

/** Fisher-Yates, in place. */
function shuffle<T>(items: T[], random: () => number = Math.random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
