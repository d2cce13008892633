// Types for tools/sqs-event-source/serverless-plugin.mjs (plain ESM JavaScript), for its tests.

export interface SqsMapping {
  functionKey: string;
  functionName: string;
  queueName: string;
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  maximumConcurrency: number;
  reportBatchItemFailures: boolean;
  visibilityTimeoutSeconds: number;
  functionTimeoutSeconds: number;
}

export function sqsMappings(service: {
  functions: Record<string, unknown>;
  resources: Record<string, unknown>;
  providerTimeout?: unknown;
}): SqsMapping[];

export function invokeThroughLambdaPort(
  lambdaUrl: string,
  functionName: string,
  event: unknown,
  timeoutMs: number,
): Promise<unknown>;

export default class SqsEventSourcePlugin {
  constructor(serverless: unknown, options: Record<string, unknown>, utils: unknown);
  hooks: Record<string, () => Promise<void>>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
