/** The container's SSM client (integration secrets; traced in AWS where the function imports lib/tracing.ts). */
import { SSMClient } from '@aws-sdk/client-ssm';
import { getConfig } from '../config.js';
import { instrumentAwsClient } from './instrument.js';
import { onClose } from './registry.js';

/** An SSM client (integration secrets); `endpoint` points it at a local emulator. */
export function createSsmClient(region: string, endpoint?: string): SSMClient {
  return new SSMClient({ region, ...(endpoint ? { endpoint } : {}) });
}

let ssm: SSMClient | undefined;

/** The container's SSM client. */
export function getSsm(): SSMClient {
  ssm ??= instrumentAwsClient(createSsmClient(getConfig('service').AWS_REGION, getConfig('secrets').SSM_ENDPOINT));
  return ssm;
}

onClose(() => {
  ssm?.destroy();
  ssm = undefined;
});
