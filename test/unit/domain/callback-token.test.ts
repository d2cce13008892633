import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CALLBACK_TOKEN_BYTES,
  hashCallbackToken,
  isCallbackToken,
  newCallbackToken,
} from '../../../lib/domain/callback-token.js';

describe('callback tokens', () => {
  it('are 256 bits from crypto.randomBytes, URL-safe', () => {
    const asked: number[] = [];
    const token = newCallbackToken((n) => {
      asked.push(n);
      return randomBytes(n);
    });
    expect(asked).toEqual([CALLBACK_TOKEN_BYTES]);
    expect(CALLBACK_TOKEN_BYTES * 8).toBeGreaterThanOrEqual(128);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(encodeURIComponent(token)).toBe(token);
    // The default source is the operating system's CSPRNG, never Math.random.
    const src = readFileSync(path.resolve(import.meta.dirname, '../../../lib/domain/callback-token.ts'), 'utf8');
    expect(src).toMatch(/import \{[^}]*\brandomBytes\b[^}]*\} from 'node:crypto'/);
    expect(src).toContain('random: (size: number) => Buffer = randomBytes');
    expect(src).not.toContain('Math.random');
  });

  it('never repeat, and their bits are spread evenly (10,000 tokens)', () => {
    const tokens = Array.from({ length: 10_000 }, () => newCallbackToken());
    expect(new Set(tokens).size).toBe(tokens.length);
    let ones = 0;
    for (const t of tokens) for (const byte of Buffer.from(t, 'base64url')) ones += popcount(byte);
    const bits = tokens.length * CALLBACK_TOKEN_BYTES * 8;
    // 2,560,000 fair bits: the share of ones is within 0.5% of a half (about 16 standard deviations).
    expect(Math.abs(ones / bits - 0.5)).toBeLessThan(0.005);
  });

  it('are stored as SHA-256 only; anything not shaped like a token is not one', () => {
    const token = newCallbackToken();
    expect(hashCallbackToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashCallbackToken(token)).toBe(hashCallbackToken(token));
    expect(hashCallbackToken(token)).not.toContain(token);
    expect(isCallbackToken(token)).toBe(true);
    for (const bad of ['', 'x', `${token}x`, token.slice(1), `${token.slice(0, 42)}=`, `${token.slice(0, 42)}/`]) {
      expect(isCallbackToken(bad), bad).toBe(false);
    }
  });
});

function popcount(b: number): number {
  let n = 0;
  for (let x = b; x > 0; x >>= 1) n += x & 1;
  return n;
}
