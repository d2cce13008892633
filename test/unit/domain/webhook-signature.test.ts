/** The webhook signature check, with a fixed clock: what is accepted and what is refused. */
import { describe, expect, it } from 'vitest';
import {
  deriveWebhookSecret,
  signWebhook,
  verifyWebhookRequest,
  WEBHOOK_TOLERANCE_SECONDS,
} from '../../../lib/domain/webhook-signature.js';

const key = new TextEncoder().encode('k'.repeat(32));
const secret = deriveWebhookSecret(key, 'wh_AAAAAAAAAAAAAAAAAAAAAA', 'salt-1');
const now = 1_800_000_000_000;
const ts = String(now / 1000);
const raw = Buffer.from('{"a":1}');
const check = (over: Partial<Parameters<typeof verifyWebhookRequest>[0]> = {}) =>
  verifyWebhookRequest({ secret, timestamp: ts, signature: signWebhook(secret, ts, raw), raw, nowMs: now, ...over });

describe('webhook secrets', () => {
  it('are derived: stable per hook and salt, different otherwise, never the key', () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(deriveWebhookSecret(key, 'wh_AAAAAAAAAAAAAAAAAAAAAA', 'salt-1')).toBe(secret);
    expect(deriveWebhookSecret(key, 'wh_AAAAAAAAAAAAAAAAAAAAAB', 'salt-1')).not.toBe(secret);
    expect(deriveWebhookSecret(key, 'wh_AAAAAAAAAAAAAAAAAAAAAA', 'salt-2')).not.toBe(secret);
    expect(
      deriveWebhookSecret(new TextEncoder().encode('j'.repeat(32)), 'wh_AAAAAAAAAAAAAAAAAAAAAA', 'salt-1'),
    ).not.toBe(secret);
  });
});

describe('verifyWebhookRequest', () => {
  it('accepts a signature over "<timestamp>.<raw body>" within the window, either way', () => {
    expect(check()).toBe(true);
    for (const skew of [-WEBHOOK_TOLERANCE_SECONDS, WEBHOOK_TOLERANCE_SECONDS]) {
      const t = String(now / 1000 + skew);
      expect(check({ timestamp: t, signature: signWebhook(secret, t, raw) }), `skew ${skew}`).toBe(true);
    }
    expect(check({ signature: signWebhook(secret, ts, raw).toUpperCase().replace('SHA256=', 'sha256=') })).toBe(true);
  });

  it('refuses every other request', () => {
    const old = String(now / 1000 - WEBHOOK_TOLERANCE_SECONDS - 1);
    const ahead = String(now / 1000 + WEBHOOK_TOLERANCE_SECONDS + 1);
    const refused: Array<[string, Partial<Parameters<typeof verifyWebhookRequest>[0]>]> = [
      ['unknown hook', { secret: undefined }],
      ['wrong secret', { signature: signWebhook(`${secret}x`, ts, raw) }],
      ['altered body', { raw: Buffer.from('{"a":2}') }],
      ['altered timestamp', { timestamp: String(now / 1000 + 1) }],
      ['301 s old', { timestamp: old, signature: signWebhook(secret, old, raw) }],
      ['301 s ahead', { timestamp: ahead, signature: signWebhook(secret, ahead, raw) }],
      ['missing timestamp', { timestamp: undefined }],
      ['missing signature', { signature: undefined }],
      ['no scheme', { signature: signWebhook(secret, ts, raw).slice(7) }],
      ['short signature', { signature: signWebhook(secret, ts, raw).slice(0, -2) }],
      ['timestamp in ms', { timestamp: String(now), signature: signWebhook(secret, String(now), raw) }],
      ['signed empty timestamp', { timestamp: '', signature: signWebhook(secret, '', raw) }],
    ];
    for (const [what, over] of refused) expect(check(over), what).toBe(false);
  });
});
