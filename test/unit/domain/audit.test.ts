/**
 * The audit vocabulary: who may be an actor (a token's sub that cannot pose as the engine's
 * own triggers), entry details that can only hold short scalars, and the audit cursor.
 */
import { describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../../lib/auth.js';
import { assertAuditDetails, SYSTEM_ACTORS, userActorProblem, webhookActor } from '../../../lib/domain/audit.js';
import { decodeAuditCursor, encodeAuditCursor } from '../../../lib/engine/audit.js';
import { mintToken } from '../../../scripts/lib/token.js';

describe('actors', () => {
  it("a token's sub is an actor unless it is empty, too long, has control characters or is an engine name", () => {
    for (const ok of ['analyst1', 'auth0|5f7c8ec7', 'jane.doe@example.com', 'ü'.repeat(256), 'webhook', 'schedules']) {
      expect(userActorProblem(ok), ok).toBeNull();
    }
    for (const bad of [
      '',
      'x'.repeat(257),
      'a\nb',
      'a\u0000',
      'tab\there',
      '\u0085next-line',
      'line\u2028sep',
      SYSTEM_ACTORS.schedule,
      SYSTEM_ACTORS.callback,
      webhookActor('h1'),
      'webhook:',
    ]) {
      expect(userActorProblem(bad), JSON.stringify(bad)).not.toBeNull();
    }
  });

  it('the authorizer refuses a token whose sub could pose as the engine', async () => {
    const secret = 'unit-test-secret-0123456789';
    const verify = createTokenVerifier({ AUTH_JWT_SECRET: secret });
    await expect(verify(await mintToken(secret, { tenant: 't1', sub: 'analyst1' }))).resolves.toEqual({
      tenant_code: 't1',
      sub: 'analyst1',
    });
    for (const sub of ['schedule', 'callback', 'webhook:h1', 'a\nb']) {
      await expect(verify(await mintToken(secret, { tenant: 't1', sub })), sub).resolves.toBeNull();
    }
  });
});

describe('entry details', () => {
  it('accepts a small flat map of scalars', () => {
    expect(() => assertAuditDetails({ pid: 'p', version: 3, ok: true, none: null })).not.toThrow();
  });

  it('refuses nested values, long strings, odd keys and too many keys (a programming error)', () => {
    for (const bad of [
      { alert: { src_ip: '203.0.113.7' } },
      { list: [1, 2] },
      { text: 'x'.repeat(257) },
      { n: Number.NaN },
      { 'Bad-Key': 1 },
      Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])),
    ]) {
      expect(() => assertAuditDetails(bad), JSON.stringify(bad).slice(0, 60)).toThrow(/audit details/);
    }
  });
});

describe('the audit cursor', () => {
  it('round-trips (at, id) and refuses anything else', () => {
    const c = encodeAuditCursor({ at: 1_795_737_600_000, id: 'execution:p:start:1' });
    expect(decodeAuditCursor(c)).toEqual({ at: 1_795_737_600_000, id: 'execution:p:start:1' });
    for (const bad of [
      'not-a-cursor',
      '',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('[-1,"a"]').toString('base64url'),
      Buffer.from('[1.5,"a"]').toString('base64url'),
      Buffer.from('[1,""]').toString('base64url'),
      Buffer.from(`[1,"${'a'.repeat(201)}"]`).toString('base64url'),
      Buffer.from('{"at":1,"id":"a"}').toString('base64url'),
    ]) {
      expect(decodeAuditCursor(bad), bad).toBeUndefined();
    }
  });
});
