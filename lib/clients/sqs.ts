/** The container's SQS client (traced in AWS where the function imports lib/tracing.ts). */
import { SQSClient } from '@aws-sdk/client-sqs';
import { getConfig } from '../config.js';
import { instrumentAwsClient } from './instrument.js';
import { onClose } from './registry.js';

/** An SQS client; `endpoint` points it at a local emulator. */
export function createSqsClient(region: string, endpoint?: string): SQSClient {
  return new SQSClient({ region, ...(endpoint ? { endpoint } : {}) });
}

let sqs: SQSClient | undefined;

/** The container's SQS client. */
export function getSqs(): SQSClient {
  sqs ??= instrumentAwsClient(createSqsClient(getConfig('service').AWS_REGION, getConfig('queue').SQS_ENDPOINT));
  return sqs;
}

onClose(() => {
  sqs?.destroy();
  sqs = undefined;
});
