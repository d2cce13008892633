/**
 * Runs several tenants' runs so that their first tasks reach the real executeTask handler in ONE
 * batch: every run is started (its root messages queued) before a single-loop poller starts, and
 * the poller records the size of every batch it delivers. The file's queue redelivers after 5 s.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Harness } from '../../support/harness.js';
import type { SqsHandler, SqsPoller } from '../../support/sqs-poller.js';

export interface CoBatch {
  poller: SqsPoller;
  /** Records per invocation, in delivery order. */
  batches: number[];
}

/** Starts a one-loop poller (batches of 10) over the real handler, recording batch sizes. */
export async function coBatchPoller(h: Harness): Promise<CoBatch> {
  const { handler } = await import('../../../functions/execute-task.js');
  const real = handler as unknown as SqsHandler;
  const batches: number[] = [];
  const recording = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse | undefined> => {
    batches.push(event.Records.length);
    return real(event, context);
  };
  const poller = h.poller({ handler: recording, batchSize: 10, maxConcurrency: 1 }).start();
  return { poller, batches };
}
