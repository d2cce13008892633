/** The container's DynamoDB client (idempotency; traced in AWS). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { getConfig } from '../config.js';
import { tracer } from '../observability.js';
import { onClose } from './registry.js';

/** A DynamoDB client; `endpoint` points it at a local emulator. */
export function createDynamoDbClient(region: string, endpoint?: string): DynamoDBClient {
  return new DynamoDBClient({ region, ...(endpoint ? { endpoint } : {}) });
}

let dynamo: DynamoDBClient | undefined;

/** The container's DynamoDB client. */
export function getDynamoDb(): DynamoDBClient {
  dynamo ??= tracer.captureAWSv3Client(
    createDynamoDbClient(getConfig('service').AWS_REGION, getConfig('idempotency').DYNAMODB_ENDPOINT),
  );
  return dynamo;
}

onClose(() => {
  dynamo?.destroy();
  dynamo = undefined;
});
