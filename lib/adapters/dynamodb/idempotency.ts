/**
 * Idempotent run starts with Powertools idempotency on DynamoDB: the key is
 * scope + tenant + Idempotency-Key, and the request body is validated against
 * the first one, so the same key with another body is a conflict, not a new run.
 */

import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Idempotency } from '../../engine/ports/idempotency.js';
import { ConflictError, ServiceUnavailableError } from '../../errors.js';

interface Keyed {
  key: string;
  body: unknown;
}

/** An Idempotency port backed by the DynamoDB table `tableName`. */
export function createIdempotency(client: DynamoDBClient, tableName: string, ttlSeconds: number): Idempotency {
  const persistenceStore = new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: client });
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'body',
    expiresAfterSeconds: ttlSeconds,
    throwOnNoIdempotencyKey: true,
  });
  const run = makeIdempotent(async (_keyed: Keyed, work: () => Promise<object>) => work(), {
    persistenceStore,
    config,
  });

  return {
    async once<T extends object>(
      scope: string,
      key: string,
      payload: unknown,
      fn: () => Promise<T>,
      lambdaContext?: { getRemainingTimeInMillis(): number },
    ): Promise<T> {
      // One invocation at a time per container, so registering per call is safe.
      if (lambdaContext)
        config.registerLambdaContext(lambdaContext as Parameters<typeof config.registerLambdaContext>[0]);
      try {
        return (await run({ key: `${scope}#${key}`, body: payload }, fn)) as T;
      } catch (err) {
        if (err instanceof IdempotencyValidationError) {
          throw new ConflictError('Idempotency-Key was already used with a different request body', [
            { path: 'Idempotency-Key', message: 'reused with a different body' },
          ]);
        }
        if (err instanceof IdempotencyAlreadyInProgressError) {
          throw new ConflictError('a request with this Idempotency-Key is still in progress', [
            { path: 'Idempotency-Key', message: 'in progress' },
          ]);
        }
        if (err instanceof IdempotencyPersistenceLayerError) {
          throw new ServiceUnavailableError('idempotency store unavailable, try again', { cause: err });
        }
        throw err;
      }
    },
  };
}
