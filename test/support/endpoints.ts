/** The local stack's endpoints as the tests see them (env overrides honoured). */
import { stackEndpoints } from '../../scripts/lib/stack/index.mjs';

export interface TestEndpoints {
  mongoUri: string;
  redisUrl: string;
  sqsEndpoint: string;
  dynamodbEndpoint: string;
  region: string;
  taskQueueUrl: string;
  dlqUrl: string;
  idempotencyTable: string;
}

/** Endpoints of the running local stack. */
export function testEndpoints(): TestEndpoints {
  return stackEndpoints() as TestEndpoints;
}

export const TEST_JWT_SECRET = 'integration-test-secret-0123456789';
