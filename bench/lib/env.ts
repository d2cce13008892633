/**
 * The bench process's environment, set before any lib/ module is imported (the
 * Powertools singletons and the config memo read it once): the local stack's
 * endpoints, a database and a task queue + DLQ of this run's own, silent logs,
 * dummy AWS credentials. Mirrors test/support/test-env.ts + integration-env.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type StackEndpoints, stackDown, stackUp } from '../../scripts/lib/stack/index.mjs';

export const BENCH_JWT_SECRET = 'bench-secret-0123456789abcdef';

export interface BenchEnv {
  endpoints: StackEndpoints;
  suffix: string;
  dbName: string;
  queueUrl: string;
  dlqUrl: string;
  /** Servers this process started (and so stops at the end). */
  started: string[];
  /** The environment a child process needs to run the same handlers against the same resources. */
  childEnv(): NodeJS.ProcessEnv;
  /** Empties the task queue (between rounds that leave messages behind). */
  purgeQueue(): Promise<void>;
  /** Deletes the queues, stops the servers this process started. The database is dropped by the caller. */
  teardown(): Promise<void>;
}

/** Static variables, exactly as the integration tests set them. */
function staticEnv(ep: StackEndpoints): Record<string, string> {
  return {
    STAGE: 'local',
    AWS_REGION: ep.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    MONGO_URI: ep.mongoUri,
    MONGO_SERVER_SELECTION_TIMEOUT_MS: '3000',
    REDIS_URL: ep.redisUrl,
    SQS_ENDPOINT: ep.sqsEndpoint,
    DYNAMODB_ENDPOINT: ep.dynamodbEndpoint,
    IDEMPOTENCY_TABLE: ep.idempotencyTable,
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    WEBHOOK_SIGNING_KEY: 'bench-webhook-signing-key-0123456789abcdef',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_SERVICE_NAME: 'playbook-service',
    // The for-each-overhead case's own tenant runs above the deployed consumer's 100 messages in
    // flight, so fairness never defers its items (every other tenant keeps the default cap).
    TENANT_MAX_RUNNING_OVERRIDES: JSON.stringify({ 'bench-for-each': 1000 }),
  };
}

/** Starts the stack if needed and points this process at a database and queues of its own. */
export async function setupBenchEnv(log: (m: string) => void): Promise<BenchEnv> {
  const up = await stackUp({ quiet: true });
  if (up.started.length > 0) log(`started local servers: ${up.started.join(', ')}`);
  const ep = up.endpoints;
  Object.assign(process.env, staticEnv(ep));
  const suffix = randomUUID().slice(0, 8);
  const dbName = `bench_${suffix}`;
  process.env.MONGO_DB = dbName;

  const sqs = new SQSClient({ region: ep.region, endpoint: ep.sqsEndpoint });
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `bench-${suffix}-dlq` }));
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `bench-${suffix}`,
      Attributes: {
        // Longer than any bench invocation: a message is redelivered only if a handler failed it.
        VisibilityTimeout: '60',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }),
      },
    }),
  );
  const queueUrl = queue.QueueUrl ?? '';
  const dlqUrl = dlq.QueueUrl ?? '';
  process.env.TASK_QUEUE_URL = queueUrl;
  process.env.DLQ_URL = dlqUrl;

  return {
    endpoints: ep,
    suffix,
    dbName,
    queueUrl,
    dlqUrl,
    started: up.started,
    childEnv() {
      return { ...process.env };
    },
    async purgeQueue() {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    },
    async teardown() {
      await Promise.allSettled([
        sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })),
        sqs.send(new DeleteQueueCommand({ QueueUrl: dlqUrl })),
      ]);
      sqs.destroy();
      if (up.started.length > 0) {
        await stackDown({ quiet: true, only: up.started });
        log(`stopped the servers this run started: ${up.started.join(', ')}`);
      }
    },
  };
}
