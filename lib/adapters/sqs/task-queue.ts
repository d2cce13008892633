/**
 * The task queue on SQS: messages are references (tenant, peid, task id,
 * attempt), sent 10 per SendMessageBatch, batches in parallel. Entries SQS
 * refuses are retried once; anything still unsent is a ServiceUnavailableError.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { OutgoingTaskMessage, TaskQueue } from '../../engine/ports/task-queue.js';
import { ServiceUnavailableError } from '../../errors.js';

const SQS_BATCH = 10;

/** A TaskQueue sending to `queueUrl`. */
export function createTaskQueue(sqs: SQSClient, queueUrl: string): TaskQueue {
  async function sendChunk(entries: SendMessageBatchRequestEntry[]): Promise<SendMessageBatchRequestEntry[]> {
    const res = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const failedIds = new Set((res.Failed ?? []).map((f) => f.Id));
    return entries.filter((e) => failedIds.has(e.Id));
  }

  return {
    async send(messages: OutgoingTaskMessage[]) {
      if (messages.length === 0) return;
      const entries: SendMessageBatchRequestEntry[] = messages.map((m, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify(m.message),
        DelaySeconds: m.delaySeconds,
      }));
      const groups: SendMessageBatchRequestEntry[][] = [];
      for (let i = 0; i < entries.length; i += SQS_BATCH) groups.push(entries.slice(i, i + SQS_BATCH));
      try {
        const failed = (await Promise.all(groups.map(sendChunk))).flat();
        if (failed.length > 0) {
          const again: SendMessageBatchRequestEntry[] = [];
          for (let i = 0; i < failed.length; i += SQS_BATCH) {
            again.push(...(await sendChunk(failed.slice(i, i + SQS_BATCH))));
          }
          if (again.length > 0) throw new Error(`${again.length} task messages refused by SQS`);
        }
      } catch (err) {
        throw new ServiceUnavailableError('the task queue is unavailable, try again', { cause: err });
      }
    },
  };
}
