/**
 * `POST /hooks/{hook_id}`: a signed delivery starts a run of the hook's playbook.
 *   1. the signature is checked (unknown hook, missing or malformed headers, a stale timestamp
 *      and a wrong signature are one and the same 401, after the same work);
 *   2. the hook's rate limit (429 with Retry-After) — only signed requests count, so nobody
 *      without the secret can use up a hook's budget;
 *   3. the body is parsed (400) and mapped to the alert and alert id (400 naming the field);
 *   4. the run starts once per delivery: `X-Playbook-Delivery`, or else the signature itself,
 *      is an idempotency key (a replayed request answers the first run's peid).
 */
import { createHash } from 'node:crypto';
import { webhookActor } from '../domain/audit.js';
import { formatPath } from '../domain/field-path.js';
import { MAX_INPUT_JSON_DEPTH, tooDeepAt } from '../domain/json-value.js';
import { deriveWebhookSecret, verifyWebhookRequest } from '../domain/webhook-signature.js';
import { RateLimitedError, UnauthorizedError, ValidationError } from '../errors.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import type { Idempotency } from './ports/idempotency.js';
import type { WebhookKeySource, WebhookRateLimiter, WebhookStore } from './ports/webhooks.js';
import { type StartedRun, type StartRunDeps, startRun } from './start-run.js';
import { applyMappings } from './webhook-mappings.js';

/** The shape of a hook id: `wh_` + 22 base64url characters (128 random bits). */
export const HOOK_ID = /^wh_[A-Za-z0-9_-]{22}$/;
const DELIVERY_ID = /^[\x21-\x7e]{1,128}$/;

export interface ReceiveWebhookDeps {
  hooks: WebhookStore;
  key: WebhookKeySource;
  limiter: WebhookRateLimiter;
  idempotency: Idempotency;
  start: StartRunDeps;
  clock: () => number;
  newId: () => string;
}

export interface WebhookDelivery {
  hook_id: string;
  timestamp: string | undefined;
  signature: string | undefined;
  delivery: string | undefined;
  /** The body exactly as API Gateway delivered it (base64 decoded). */
  raw: Buffer;
  /** Parses the body (the HTTP edge's JSON path: its size and depth bounds, 400 when not JSON). */
  parseBody: () => unknown;
}

/** The one answer to every unauthenticated delivery. */
export function unauthorized(): UnauthorizedError {
  return new UnauthorizedError('invalid webhook request');
}

/** Receives one delivery; answers like POST /runplaybook. */
export async function receiveWebhook(
  deps: ReceiveWebhookDeps,
  d: WebhookDelivery,
  lambdaContext?: { getRemainingTimeInMillis(): number },
): Promise<StartedRun> {
  const hook = HOOK_ID.test(d.hook_id) ? await deps.hooks.findById(d.hook_id) : null;
  // Derived for an unknown hook too (with a salt no hook has): the same work either way.
  const secret = deriveWebhookSecret(await deps.key.key(), d.hook_id, hook?.salt ?? '(none)');
  const ok = verifyWebhookRequest({
    secret: hook ? secret : undefined,
    timestamp: d.timestamp,
    signature: d.signature,
    raw: d.raw,
    nowMs: deps.clock(),
  });
  if (!ok || !hook) {
    metrics.addMetric('WebhooksRefused', MetricUnit.Count, 1);
    throw unauthorized();
  }
  logger.appendKeys({ tenant_code: hook.tenant_code, hook_id: hook.hook_id });

  const budget = await deps.limiter.take(hook.hook_id);
  if (!budget.allowed) {
    metrics.addMetric('WebhooksThrottled', MetricUnit.Count, 1);
    throw new RateLimitedError(`webhook '${hook.hook_id}' is over its rate limit`, budget.retryAfterMs / 1000);
  }
  if (d.delivery !== undefined && !DELIVERY_ID.test(d.delivery)) {
    throw new ValidationError('invalid X-Playbook-Delivery header', [
      { path: 'X-Playbook-Delivery', message: 'must be 1-128 printable ASCII characters' },
    ]);
  }
  const body = d.parseBody();
  // Outside JSON is depth-bounded where it enters (stored, templated and serialized downstream).
  const tooDeep = tooDeepAt(body, MAX_INPUT_JSON_DEPTH);
  if (tooDeep !== undefined) {
    throw new ValidationError('request body is nested too deeply', [
      {
        path: formatPath(['(body)', ...tooDeep]),
        message: `must not be nested deeper than ${MAX_INPUT_JSON_DEPTH} levels`,
      },
    ]);
  }
  const input = await applyMappings(hook, body, deps.newId);

  // The run's uid and its audit entry's actor. The entry is written with the run inside the
  // idempotent start: a replayed delivery answers the first run and records nothing.
  const actor = { tenant_code: hook.tenant_code, sub: webhookActor(hook.hook_id) };
  const start = () =>
    startRun(
      deps.start,
      actor,
      { playbook_name: hook.playbook_name, ...input },
      {
        type: 'webhook',
        hook_id: hook.hook_id,
      },
    );
  // Without a delivery id, the signed request itself identifies the delivery: a replay within
  // the window is answered with the first run. The payload is the body's digest (its mapped
  // alert id may be a new id on every call).
  const key = d.delivery ?? `sig:${d.timestamp}:${(d.signature ?? '').toLowerCase()}`;
  const digest = createHash('sha256').update(d.raw).digest('hex');
  const started = await deps.idempotency.once(
    `webhook#${hook.hook_id}`,
    key,
    { body_sha256: digest },
    start,
    lambdaContext,
  );
  metrics.addMetric('WebhooksAccepted', MetricUnit.Count, 1);
  return started;
}
