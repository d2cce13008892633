// Readiness probes of the local servers, and the idempotency table's creation.

import net from 'node:net';
import { ACCOUNT_ID, DLQ, ELASTICMQ_CONF, HOST, StackError, TASK_QUEUE } from './config.mjs';
import { sleep } from './proc.mjs';

/** @param {number} port */
export async function mongoReady(port) {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(`mongodb://${HOST}:${port}/?directConnection=true`, {
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 2000,
  });
  try {
    await client.connect();
    const res = await client.db('admin').command({ ping: 1 });
    if (res.ok !== 1) throw new Error(`ping answered ${JSON.stringify(res)}`);
  } finally {
    await client.close().catch(() => {});
  }
}

/**
 * Raw AWS JSON protocol call (no SDK import: keeps the already-running path fast).
 * @param {string} endpoint @param {string} action @param {object} body
 */
async function sqsCall(endpoint, action, body) {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${action}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(2000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${action} -> HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Ready when both queues exist (ElasticMQ answers HTTP a moment before it creates them). @param {number} port */
export async function sqsReady(port) {
  const endpoint = `http://${HOST}:${port}`;
  const want = `${endpoint}/${ACCOUNT_ID}/${TASK_QUEUE}`;
  const { QueueUrl } = await sqsCall(endpoint, 'GetQueueUrl', { QueueName: TASK_QUEUE });
  if (QueueUrl !== want) {
    throw new StackError(
      `ElasticMQ returned queue URL ${QueueUrl}, expected ${want} (check node-address in ${ELASTICMQ_CONF})`,
      { server: 'sqs' },
    );
  }
  await sqsCall(endpoint, 'GetQueueUrl', { QueueName: DLQ });
}

/** PING over RESP. @param {number} port */
export function redisReady(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    let buf = '';
    sock.setTimeout(1000, () => {
      sock.destroy();
      reject(new Error('timeout'));
    });
    sock.once('error', reject);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        sock.destroy();
        if (buf.startsWith('+PONG')) resolve(undefined);
        else reject(new Error(`PING answered ${buf.trim()}`));
      }
    });
  });
}

/**
 * Creates the Powertools idempotency table (partition key `id`, string) if missing; waits for ACTIVE.
 * @param {string} endpoint @param {string} region @param {string} tableName
 */
export async function ensureIdempotencyTable(endpoint, region, tableName) {
  const { DynamoDBClient, CreateTableCommand, DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');
  // The SDK prints a "Node >= 22 soon" notice on the first client construction; not from here.
  const WARN = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  const hadWarnVar = WARN in process.env;
  if (!hadWarnVar) process.env[WARN] = 'true';
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  if (!hadWarnVar) delete process.env[WARN];
  try {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (err) {
      if (/** @type {{ name?: string }} */ (err).name !== 'ResourceInUseException') throw err;
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
      if (Date.now() > deadline)
        throw new StackError(`table ${tableName} stayed ${Table?.TableStatus}`, { server: 'dynamodb' });
      await sleep(50);
    }
  } finally {
    client.destroy();
  }
}
