/** The container's DynamoDB client (idempotency; traced in AWS where the function imports lib/tracing.ts). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { getConfig } from '../config.js';
import { instrumentAwsClient } from './instrument.js';
import { onClose } from './registry.js';

/** A DynamoDB client; `endpoint` points it at a local emulator. */
export function createDynamoDbClient(region: string, endpoint?: string): DynamoDBClient {
  return new DynamoDBClient({ region, ...(endpoint ? { endpoint } : {}) });
}

let dynamo: DynamoDBClient | undefined;

/** The container's DynamoDB client. */
export function getDynamoDb(): DynamoDBClient {
  dynamo ??= instrumentAwsClient(
    createDynamoDbClient(getConfig('service').AWS_REGION, getConfig('idempotency').DYNAMODB_ENDPOINT),
  );
  return dynamo;
}

onClose(() => {
  dynamo?.destroy();
  dynamo = undefined;
});
