#!/usr/bin/env node
// Local stack of real servers (MongoDB-compatible, SQS-compatible, Redis, DynamoDB-compatible).
//   node scripts/stack.mjs up       start what is not running, wait until healthy (idempotent)
//   node scripts/stack.mjs down     stop the servers this stack started
//   node scripts/stack.mjs status   one line per server
//   node scripts/stack.mjs env      print the endpoints as shell exports
// Options: --quiet. Env overrides and ports: see scripts/lib/stack/index.mjs.

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { stackUp, stackDown, stackStatus, stackEndpoints, formatStatus, StackError } = await import(
  './lib/stack/index.mjs'
);

const [cmd = 'status', ...rest] = process.argv.slice(2);
const quiet = rest.includes('--quiet') || rest.includes('-q');

try {
  switch (cmd) {
    case 'up': {
      await stackUp({ quiet });
      if (!quiet) for (const s of await stackStatus()) console.log(formatStatus(s));
      break;
    }
    case 'down':
      await stackDown({ quiet });
      break;
    case 'status':
      for (const s of await stackStatus()) console.log(formatStatus(s));
      break;
    case 'env': {
      const e = stackEndpoints();
      const vars = {
        MONGO_URI: e.mongoUri,
        REDIS_URL: e.redisUrl,
        SQS_ENDPOINT: e.sqsEndpoint,
        DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
        AWS_REGION: e.region,
        TASK_QUEUE_URL: e.taskQueueUrl,
        DLQ_URL: e.dlqUrl,
        IDEMPOTENCY_TABLE: e.idempotencyTable,
      };
      for (const [k, v] of Object.entries(vars)) console.log(`export ${k}='${v}'`);
      break;
    }
    default:
      console.error(`usage: node scripts/stack.mjs up|down|status|env [--quiet]`);
      process.exit(2);
  }
} catch (err) {
  if (err instanceof StackError) {
    console.error(`[stack] ERROR: ${err.message}`);
  } else {
    console.error('[stack] ERROR:', err);
  }
  process.exit(1);
}
