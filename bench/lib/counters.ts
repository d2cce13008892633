/**
 * Round-trip counters on the product's own client objects: MongoDB commands through
 * the driver's command monitoring (commandStarted, one per wire round trip; handshakes
 * and heartbeats are not commands), SQS requests through an SDK middleware at the
 * deserialize step (one per HTTP attempt, retries included), and Redis round trips by
 * wrapping the client's sendCommand (a pipeline's commands share one write: one trip).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Redis } from 'ioredis';
import type { CommandStartedEvent, MongoClient } from 'mongodb';

export interface RoundTrips {
  mongo: number;
  sqs: number;
  redis: number;
  /** Commands by name, e.g. { update: 1000 }. */
  mongoByCommand: Record<string, number>;
}

export interface RoundTripCounter {
  /** Counts from now; returns a function that reads the counts since. */
  start(): () => RoundTrips;
}

/**
 * Turns command monitoring on for `mongo` (it must not have connected yet) and
 * counts SQS requests of `sqs`; both are the product's own client objects.
 */
export function countRoundTrips(mongo: MongoClient, sqs: SQSClient, redis: Redis): RoundTripCounter {
  // Public and writable; read when the first connection is made.
  mongo.options.monitorCommands = true;
  let mongoTotal = 0;
  let sqsTotal = 0;
  let redisTotal = 0;
  let lastPipelineStream: unknown;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: unknown) => {
    if (stream === undefined || stream !== lastPipelineStream) redisTotal += 1;
    lastPipelineStream = stream;
    return (send as (c: unknown, s?: unknown) => unknown)(command, stream);
  }) as Redis['sendCommand'];
  const byCommand = new Map<string, number>();
  mongo.on('commandStarted', (e: CommandStartedEvent) => {
    mongoTotal += 1;
    byCommand.set(e.commandName, (byCommand.get(e.commandName) ?? 0) + 1);
  });
  sqs.middlewareStack.add(
    (next) => async (args) => {
      sqsTotal += 1;
      return next(args);
    },
    { step: 'deserialize', name: 'benchRoundTripCounter' },
  );
  return {
    start() {
      const m0 = mongoTotal;
      const s0 = sqsTotal;
      const r0 = redisTotal;
      const c0 = new Map(byCommand);
      return () => {
        const mongoByCommand: Record<string, number> = {};
        for (const [k, v] of byCommand) {
          const d = v - (c0.get(k) ?? 0);
          if (d > 0) mongoByCommand[k] = d;
        }
        return { mongo: mongoTotal - m0, sqs: sqsTotal - s0, redis: redisTotal - r0, mongoByCommand };
      };
    },
  };
}
