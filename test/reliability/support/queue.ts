/** Queue inspection for the reliability tests (the file's own task queue and DLQ). */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Visible + in flight + delayed messages of a queue. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const res = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = res.Attributes ?? {};
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Waits until the queue holds nothing (every duplicate consumed and deleted). */
export async function waitQueueEmpty(sqs: SQSClient, queueUrl: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const depth = await queueDepth(sqs, queueUrl);
    if (depth === 0) return;
    if (Date.now() > end) throw new Error(`queue still holds ${depth} messages after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
