/**
 * Webhook signatures. A sender signs `<timestamp>.<raw body>` with HMAC-SHA256 under the hook's
 * secret and sends `X-Playbook-Timestamp: <epoch seconds>` and
 * `X-Playbook-Signature: sha256=<hex>`. A request is accepted only when the hook exists, both
 * headers are well formed, the timestamp is within 300 s of now and the signature matches; the
 * check does the same work whichever of these fails (a secret is derived and an HMAC computed
 * and compared in constant time even for an unknown hook), so its answer and its time say nothing
 * about which one did.
 *
 * Secrets are not stored: a hook's secret is derived from the service's webhook key and the
 * hook's id and salt (HMAC-SHA256). The database alone reveals no secret; the key alone
 * (SSM SecureString in AWS) is no hook's secret either.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signed timestamp may be from now, either way. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;
export const SECRET_PREFIX = 'whsec_';
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
const TIMESTAMP = /^\d{1,12}$/;

/** The secret of a hook, as shown once to its creator: `whsec_` + 43 base64url characters. */
export function deriveWebhookSecret(key: Uint8Array, hookId: string, salt: string): string {
  const mac = createHmac('sha256', key).update(`playbook-service webhook secret v1:${hookId}:${salt}`).digest();
  return `${SECRET_PREFIX}${mac.toString('base64url')}`;
}

/** The signature header value of `raw` sent at `timestamp` (epoch seconds, as the header carries it). */
export function signWebhook(secret: string, timestamp: string, raw: Uint8Array): string {
  return `sha256=${mac(secret, timestamp, raw).toString('hex')}`;
}

function mac(secret: string, timestamp: string, raw: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest();
}

export interface WebhookRequestCheck {
  /** The hook's secret; undefined for an unknown hook. */
  secret: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  /** The body exactly as received (base64 already decoded). */
  raw: Uint8Array;
  nowMs: number;
}

/** A secret no hook has: the unknown-hook case computes and compares an HMAC all the same. */
const NO_SECRET = `${SECRET_PREFIX}${'A'.repeat(43)}`;

/** True only when every condition holds; the same work whichever fails. */
export function verifyWebhookRequest(check: WebhookRequestCheck): boolean {
  const ts = check.timestamp ?? '';
  const tsOk = TIMESTAMP.test(ts) && Math.abs(Math.floor(check.nowMs / 1000) - Number(ts)) <= WEBHOOK_TOLERANCE_SECONDS;
  const sig = SIGNATURE.exec(check.signature ?? '');
  const provided = sig?.[1] !== undefined ? Buffer.from(sig[1], 'hex') : Buffer.alloc(32);
  const expected = mac(check.secret ?? NO_SECRET, ts, check.raw);
  const equal = timingSafeEqual(expected, provided);
  // Non-short-circuit: every part is evaluated whatever the others say.
  return (Number(equal) & Number(tsOk) & Number(sig !== null) & Number(check.secret !== undefined)) === 1;
}
