// Types for scripts/lib/stack/index.mjs (plain ESM JavaScript), for TypeScript importers such as the
// vitest globalSetup and scripts/*.ts. Keep in sync with the JSDoc there.

export type ServerName = 'mongo' | 'sqs' | 'redis' | 'dynamodb';

export interface StackEndpoints {
  mongoUri: string;
  redisUrl: string;
  sqsEndpoint: string;
  dynamodbEndpoint: string;
  region: string;
  taskQueueUrl: string;
  dlqUrl: string;
  idempotencyTable: string;
}

export interface StackUpResult {
  endpoints: StackEndpoints;
  /** Started by this call. */
  started: ServerName[];
  /** Already running (started earlier by this stack). */
  running: ServerName[];
  /** Env override (MONGO_URI, REDIS_URL, SQS_ENDPOINT, DYNAMODB_ENDPOINT) set: not started. */
  external: ServerName[];
  ms: number;
}

export interface ServerStatus {
  name: ServerName;
  state: 'running' | 'stopped' | 'external' | 'not-answering';
  pid?: number;
  endpoint: string;
}

/** Repository root. */
export const ROOT: string;

export class StackError extends Error {
  constructor(message: string, opts?: { server?: string; stopped?: ServerName[] });
  /** The server that failed, when known. */
  server: string | undefined;
  /** Servers a failed stackUp() had started and then stopped again. */
  stopped: ServerName[] | undefined;
}

export function stackEndpoints(): StackEndpoints;
export function stackUp(opts?: { quiet?: boolean }): Promise<StackUpResult>;
export function stackDown(opts?: { quiet?: boolean; only?: ServerName[] }): Promise<{ stopped: ServerName[] }>;
export function stackStatus(): Promise<ServerStatus[]>;
export function formatStatus(s: ServerStatus): string;
export function redact(url: string): string;
export function logFile(name: ServerName): string;
export function ensureIdempotencyTable(endpoint: string, region: string, tableName: string): Promise<void>;
