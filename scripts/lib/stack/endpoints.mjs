// Where each service is: the local servers' ports and the env overrides for real services.

import { ACCOUNT_ID, DLQ, HOST, IDEMPOTENCY_TABLE, StackError, TASK_QUEUE } from './config.mjs';

/** @typedef {import('./config.mjs').ServerName} ServerName */

/** @param {string} name @param {number} def */
function envPort(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new StackError(`${name}=${raw} is not a valid TCP port`);
  return n;
}

/** @param {string} name */
function envStr(name) {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function ports() {
  return {
    mongo: envPort('MONGO_PORT', 27117),
    sqs: envPort('SQS_PORT', 9324),
    redis: envPort('REDIS_PORT', 6479),
    dynamodb: envPort('DYNAMODB_PORT', 8001),
  };
}

/**
 * @typedef {object} StackEndpoints
 * @property {string} mongoUri
 * @property {string} redisUrl
 * @property {string} sqsEndpoint
 * @property {string} dynamodbEndpoint
 * @property {string} region
 * @property {string} taskQueueUrl
 * @property {string} dlqUrl
 * @property {string} idempotencyTable
 */

/**
 * Where each service is: the local server's address, or the env override for a real service.
 * @returns {StackEndpoints}
 */
export function stackEndpoints() {
  const p = ports();
  const sqsEndpoint = (envStr('SQS_ENDPOINT') ?? `http://${HOST}:${p.sqs}`).replace(/\/+$/, '');
  return {
    mongoUri: envStr('MONGO_URI') ?? `mongodb://${HOST}:${p.mongo}`,
    redisUrl: envStr('REDIS_URL') ?? `redis://${HOST}:${p.redis}`,
    sqsEndpoint,
    dynamodbEndpoint: (envStr('DYNAMODB_ENDPOINT') ?? `http://${HOST}:${p.dynamodb}`).replace(/\/+$/, ''),
    region: envStr('AWS_REGION') ?? 'us-east-1',
    taskQueueUrl: envStr('TASK_QUEUE_URL') ?? `${sqsEndpoint}/${ACCOUNT_ID}/${TASK_QUEUE}`,
    dlqUrl: envStr('DLQ_URL') ?? `${sqsEndpoint}/${ACCOUNT_ID}/${DLQ}`,
    idempotencyTable: envStr('IDEMPOTENCY_TABLE') ?? IDEMPOTENCY_TABLE,
  };
}

/**
 * The env override per server, if it points somewhere else than this stack's own server.
 * An override naming the local server itself (127.0.0.1/localhost and the configured port, e.g.
 * exported by `npm start` from stackEndpoints() into a child's environment) still counts as local,
 * so a child calling stackUp() again manages it instead of treating it as external.
 * @returns {Record<ServerName, string | undefined>}
 */
export function externals() {
  const p = ports();
  /** @param {string | undefined} url @param {number} port */
  const ext = (url, port) => {
    if (url === undefined) return undefined;
    try {
      const u = new URL(url);
      const local = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && !u.protocol.includes('+srv');
      if (local && Number(u.port) === port) return undefined;
    } catch {
      // unparsable (mongodb with several hosts): external
    }
    return url;
  };
  return {
    mongo: ext(envStr('MONGO_URI'), p.mongo),
    sqs: ext(envStr('SQS_ENDPOINT'), p.sqs),
    redis: ext(envStr('REDIS_URL'), p.redis),
    dynamodb: ext(envStr('DYNAMODB_ENDPOINT'), p.dynamodb),
  };
}
