// serverless-offline plugin: feeds every function's `sqs` events as Lambda's event source mapping
// does (tools/sqs-event-source/event-source.mjs), on the local SQS-compatible server, invoking the
// function through serverless-offline's own lambda port (POST /2015-03-31/functions/NAME/invocations),
// so the handler runs in serverless-offline's workers like every other function of `npm start`.
//
// Read from serverless.yml, as AWS reads them: each sqs event's batchSize (default 10),
// maximumBatchingWindow (0), maximumConcurrency (default here: 5), functionResponseType
// (ReportBatchItemFailures honours `batchItemFailures`), enabled; the queue's QueueName and
// VisibilityTimeout (default 30) from `resources` (arn: Fn::GetAtt [Queue, Arn], or a literal ARN);
// the function's timeout. Settings AWS would refuse (the queue's visibility timeout below the
// function's timeout, a batch above 10 without a batching window, maximumConcurrency outside
// 2..1000) stop `serverless offline start` with the reason.
//
// custom.sqsEventSource: endpoint (the SQS server), region, accessKeyId, secretAccessKey,
// waitTimeSeconds (long poll of each receive, default 5: also how long stopping can take).
// Listed before serverless-offline in `plugins`; starts on offline:start:ready (serverless-offline's
// servers are up), stops on offline:start:end (waits for the invocations in flight): it runs with
// `serverless offline start` (what `npm start` runs), whose lifecycle events other plugins see.

import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsEventSource } from './event-source.mjs';

const DEFAULT_MAXIMUM_CONCURRENCY = 5;
const DEFAULT_VISIBILITY_TIMEOUT = 30;
const DEFAULT_FUNCTION_TIMEOUT = 6;
const ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * @typedef {object} SqsMapping
 * @property {string} functionKey
 * @property {string} functionName      the deployed name, e.g. playbook-service-local-executeTask
 * @property {string} queueName
 * @property {number} batchSize
 * @property {number} maximumBatchingWindowSeconds
 * @property {number} maximumConcurrency
 * @property {boolean} reportBatchItemFailures
 * @property {number} visibilityTimeoutSeconds
 * @property {number} functionTimeoutSeconds
 */

/** @param {unknown} v @param {number} def */
const num = (v, def) => (v === undefined || v === null || v === '' ? def : Number(v));

/**
 * The queue's logical id and properties from an event's `arn`.
 * @param {unknown} arn @param {Record<string, any>} resources @param {string} where
 */
function queueOf(arn, resources, where) {
  if (typeof arn === 'string') {
    const name = arn.split(':').at(-1) ?? '';
    const found = Object.values(resources).find(
      (r) => r?.Type === 'AWS::SQS::Queue' && r.Properties?.QueueName === name,
    );
    return { name, properties: found?.Properties ?? {} };
  }
  const getAtt = arn && typeof arn === 'object' ? /** @type {any} */ (arn)['Fn::GetAtt'] : undefined;
  const logicalId = Array.isArray(getAtt) ? getAtt[0] : typeof getAtt === 'string' ? getAtt.split('.')[0] : undefined;
  const resource = logicalId === undefined ? undefined : resources[logicalId];
  if (resource?.Type !== 'AWS::SQS::Queue' || typeof resource.Properties?.QueueName !== 'string') {
    throw new Error(`${where}: arn must be a queue ARN or Fn::GetAtt [Queue, Arn] of a queue with a QueueName`);
  }
  return { name: resource.Properties.QueueName, properties: resource.Properties };
}

/**
 * Every enabled `sqs` event of the service, with the settings Lambda would use.
 * @param {{ functions: Record<string, any>, resources: Record<string, any>, providerTimeout?: unknown }} service
 * @returns {SqsMapping[]}
 */
export function sqsMappings(service) {
  /** @type {SqsMapping[]} */
  const out = [];
  for (const [functionKey, fn] of Object.entries(service.functions)) {
    for (const [i, event] of (fn.events ?? []).entries()) {
      if (!event?.sqs) continue;
      const where = `functions.${functionKey}.events[${i}].sqs`;
      const sqs = typeof event.sqs === 'string' ? { arn: event.sqs } : event.sqs;
      if (sqs.enabled === false) continue;
      const queue = queueOf(sqs.arn, service.resources, where);
      const m = {
        functionKey,
        functionName: fn.name ?? functionKey,
        queueName: queue.name,
        batchSize: num(sqs.batchSize, 10),
        maximumBatchingWindowSeconds: num(sqs.maximumBatchingWindow, 0),
        maximumConcurrency: num(sqs.maximumConcurrency, DEFAULT_MAXIMUM_CONCURRENCY),
        reportBatchItemFailures: sqs.functionResponseType === 'ReportBatchItemFailures',
        visibilityTimeoutSeconds: num(queue.properties.VisibilityTimeout, DEFAULT_VISIBILITY_TIMEOUT),
        functionTimeoutSeconds: num(fn.timeout ?? service.providerTimeout, DEFAULT_FUNCTION_TIMEOUT),
      };
      const refuse = (/** @type {string} */ why) => {
        throw new Error(`${where}: ${why} (AWS refuses this event source mapping)`);
      };
      if (!Number.isInteger(m.batchSize) || m.batchSize < 1 || m.batchSize > 10_000) refuse('batchSize is 1..10000');
      if (m.batchSize > 10 && !(m.maximumBatchingWindowSeconds >= 1)) {
        refuse('a batchSize above 10 needs a maximumBatchingWindow of at least 1 s');
      }
      if (!(m.maximumBatchingWindowSeconds >= 0 && m.maximumBatchingWindowSeconds <= 300)) {
        refuse('maximumBatchingWindow is 0..300 s');
      }
      if (!Number.isInteger(m.maximumConcurrency) || m.maximumConcurrency < 2 || m.maximumConcurrency > 1000) {
        refuse('maximumConcurrency is 2..1000');
      }
      if (m.visibilityTimeoutSeconds < m.functionTimeoutSeconds) {
        refuse(
          `queue ${m.queueName}'s VisibilityTimeout (${m.visibilityTimeoutSeconds} s) is below the function's timeout (${m.functionTimeoutSeconds} s)`,
        );
      }
      out.push(m);
    }
  }
  return out;
}

/**
 * Invokes a function through serverless-offline's lambda port, synchronously, as the Lambda Invoke
 * API does: the response is the function's result; a function error throws.
 * @param {string} lambdaUrl @param {string} functionName @param {unknown} event @param {number} timeoutMs
 */
export async function invokeThroughLambdaPort(lambdaUrl, functionName, event, timeoutMs) {
  const res = await fetch(`${lambdaUrl}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
    body: JSON.stringify(event),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`invoke ${functionName}: HTTP ${res.status} ${text.slice(0, 300)}`);
  if (res.headers.get('x-amz-function-error')) {
    let message = text;
    try {
      message = JSON.parse(text).errorMessage ?? text;
    } catch {
      // not JSON: the text itself
    }
    throw new Error(`${functionName} failed: ${String(message).slice(0, 500)}`);
  }
  // An answer that is not JSON is a failed invocation, as for Lambda.
  return text.length === 0 ? null : JSON.parse(text);
}

/** @param {SQSClient} sqs @param {string} queueName @param {number} timeoutMs */
async function queueUrlOf(sqs, queueName, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
      if (QueueUrl) return QueueUrl;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`queue ${queueName} not found: ${/** @type {Error} */ (err).message}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export default class SqsEventSourcePlugin {
  /**
   * @param {any} serverless
   * @param {Record<string, unknown>} _options
   * @param {{ log: Record<'notice' | 'warning' | 'error', (m: string) => void> }} utils
   */
  constructor(serverless, _options, utils) {
    this.serverless = serverless;
    this.log = utils?.log ?? { notice: console.log, warning: console.warn, error: console.error };
    /** @type {SqsEventSource[]} */
    this.sources = [];
    this.hooks = {
      'offline:start:ready': () => this.start(),
      'offline:start:end': () => this.stop(),
    };
  }

  async start() {
    const service = this.serverless.service;
    const cfg = service.custom?.sqsEventSource ?? {};
    const offline = service.custom?.['serverless-offline'] ?? {};
    const lambdaUrl = `http://${offline.host ?? 'localhost'}:${offline.lambdaPort ?? 3002}`;
    const region = cfg.region ?? service.provider.region ?? 'us-east-1';
    const functions = Object.fromEntries(
      service.getAllFunctions().map((/** @type {string} */ k) => [k, service.getFunction(k)]),
    );
    const mappings = sqsMappings({
      functions,
      resources: service.resources?.Resources ?? {},
      providerTimeout: service.provider.timeout,
    });
    if (mappings.length === 0) return;
    this.sqs = new SQSClient({
      endpoint: cfg.endpoint,
      region,
      credentials: { accessKeyId: cfg.accessKeyId ?? 'local', secretAccessKey: cfg.secretAccessKey ?? 'local' },
    });
    for (const m of mappings) {
      const queueUrl = await queueUrlOf(this.sqs, m.queueName, 30_000);
      const { Attributes } = await this.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      );
      let lastErrorLog = 0;
      const source = new SqsEventSource({
        sqs: this.sqs,
        queueUrl,
        eventSourceArn: Attributes?.QueueArn,
        awsRegion: region,
        batchSize: m.batchSize,
        maximumBatchingWindowSeconds: m.maximumBatchingWindowSeconds,
        maximumConcurrency: m.maximumConcurrency,
        reportBatchItemFailures: m.reportBatchItemFailures,
        visibilityTimeoutSeconds: m.visibilityTimeoutSeconds,
        waitTimeSeconds: num(cfg.waitTimeSeconds, 5),
        invoke: (event) =>
          invokeThroughLambdaPort(lambdaUrl, m.functionName, event, m.functionTimeoutSeconds * 1000 + 5000),
        onError: (err, where) => {
          const msg = err instanceof Error ? err.message : String(err);
          if (where === 'invoke') {
            this.log.warning(
              `${m.functionKey}: batch failed, its messages return after ${m.visibilityTimeoutSeconds} s: ${msg}`,
            );
          } else if (Date.now() - lastErrorLog > ERROR_LOG_INTERVAL_MS) {
            lastErrorLog = Date.now();
            this.log.warning(`${m.functionKey}: ${where} on ${m.queueName} failed (retrying): ${msg}`);
          }
        },
      });
      this.sources.push(source.start());
      this.log.notice(
        `SQS event source: ${m.functionKey} <- ${m.queueName} (batch ${m.batchSize}, window ${m.maximumBatchingWindowSeconds} s, ` +
          `up to ${m.maximumConcurrency} at once${m.reportBatchItemFailures ? ', ReportBatchItemFailures' : ''}, ` +
          `visibility timeout ${m.visibilityTimeoutSeconds} s)`,
      );
    }
  }

  async stop() {
    await Promise.all(this.sources.map((s) => s.stop()));
    this.sources = [];
    this.sqs?.destroy();
  }
}
