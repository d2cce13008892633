/**
 * Round-trip counters on the product's own client objects: MongoDB commands through
 * the driver's command monitoring (commandStarted, one per wire round trip; handshakes
 * and heartbeats are not commands), SQS and DynamoDB requests through an SDK middleware
 * at the deserialize step (one per HTTP attempt, retries included), and Redis round trips
 * by wrapping the client's sendCommand (a pipeline's commands share one write: one trip).
 * Used in the bench process and in its container processes (bench/children/), where the
 * counts travel as plain data (RoundTrips) and are subtracted with `tripsBetween`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Redis } from 'ioredis';
import type { CommandStartedEvent, MongoClient } from 'mongodb';

export interface RoundTrips {
  mongo: number;
  sqs: number;
  redis: number;
  /** DynamoDB requests (0 where the process has no DynamoDB client, e.g. executeTask). */
  dynamodb: number;
  /** Commands by name, e.g. { update: 1000 }. */
  mongoByCommand: Record<string, number>;
}

export interface RoundTripCounter {
  /** Counts from now; returns a function that reads the counts since. */
  start(): () => RoundTrips;
}

/** An AWS SDK v3 client, as far as counting its requests goes. */
type AwsClient = Pick<SQSClient, 'middlewareStack'> | Pick<DynamoDBClient, 'middlewareStack'>;

/** Counts the HTTP requests `client` sends from now on (one per attempt); returns the reader. */
export function countAwsRequests(client: AwsClient, name = 'benchRequestCounter'): () => number {
  let total = 0;
  (client as Pick<SQSClient, 'middlewareStack'>).middlewareStack.add(
    (next) => async (args) => {
      total += 1;
      return next(args);
    },
    { step: 'deserialize', name },
  );
  return () => total;
}

/**
 * Counts the commands `mongo` sends (it must not have connected yet: command monitoring is
 * read when the first connection is made); returns the reader of the totals by command name.
 */
export function countMongoCommands(mongo: MongoClient): () => Map<string, number> {
  // Public and writable; read when the first connection is made.
  mongo.options.monitorCommands = true;
  const byCommand = new Map<string, number>();
  mongo.on('commandStarted', (e: CommandStartedEvent) => {
    byCommand.set(e.commandName, (byCommand.get(e.commandName) ?? 0) + 1);
  });
  return () => byCommand;
}

/** Counts the round trips of `redis` (a pipeline is one). */
function countRedisTrips(redis: Redis): () => number {
  let total = 0;
  let lastPipelineStream: unknown;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: unknown) => {
    if (stream === undefined || stream !== lastPipelineStream) total += 1;
    lastPipelineStream = stream;
    return (send as (c: unknown, s?: unknown) => unknown)(command, stream);
  }) as Redis['sendCommand'];
  return () => total;
}

/** `b - a`, field by field (commands that did not occur in between are left out). */
export function tripsBetween(a: RoundTrips, b: RoundTrips): RoundTrips {
  const mongoByCommand: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.mongoByCommand)) {
    const d = v - (a.mongoByCommand[k] ?? 0);
    if (d > 0) mongoByCommand[k] = d;
  }
  return {
    mongo: b.mongo - a.mongo,
    sqs: b.sqs - a.sqs,
    redis: b.redis - a.redis,
    dynamodb: b.dynamodb - a.dynamodb,
    mongoByCommand,
  };
}

/** The sum of `xs`, field by field. */
export function sumTrips(xs: readonly RoundTrips[]): RoundTrips {
  const zero: RoundTrips = { mongo: 0, sqs: 0, redis: 0, dynamodb: 0, mongoByCommand: {} };
  return xs.reduce((acc, t) => {
    const byCommand = { ...acc.mongoByCommand };
    for (const [k, v] of Object.entries(t.mongoByCommand)) byCommand[k] = (byCommand[k] ?? 0) + v;
    return {
      mongo: acc.mongo + t.mongo,
      sqs: acc.sqs + t.sqs,
      redis: acc.redis + t.redis,
      dynamodb: acc.dynamodb + t.dynamodb,
      mongoByCommand: byCommand,
    };
  }, zero);
}

/**
 * Turns command monitoring on for `mongo` (it must not have connected yet) and counts the
 * requests of `sqs`, `redis` and `dynamodb` (when given); all are the product's own client objects.
 */
export function countRoundTrips(
  mongo: MongoClient,
  sqs: SQSClient,
  redis: Redis,
  dynamodb?: DynamoDBClient,
): RoundTripCounter {
  const mongoCommands = countMongoCommands(mongo);
  const sqsRequests = countAwsRequests(sqs, 'benchRoundTripCounter');
  const redisTrips = countRedisTrips(redis);
  const dynamoRequests = dynamodb ? countAwsRequests(dynamodb, 'benchRoundTripCounter') : () => 0;
  const now = (): RoundTrips => {
    const mongoByCommand = Object.fromEntries(mongoCommands());
    return {
      mongo: Object.values(mongoByCommand).reduce((a, b) => a + b, 0),
      sqs: sqsRequests(),
      redis: redisTrips(),
      dynamodb: dynamoRequests(),
      mongoByCommand,
    };
  };
  return {
    start() {
      const t0 = now();
      return () => tripsBetween(t0, now());
    },
  };
}
