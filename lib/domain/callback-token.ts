/**
 * Callback tokens (docs/approvals.md): 256 bits from the operating system's CSPRNG, URL-safe
 * (base64url, 43 characters). Only the SHA-256 of a token is stored, so a copy of the database
 * (or a log of its queries) answers nothing; the token itself exists in the notify request and
 * in the link an analyst opens. A token is never logged, listed or returned by a read.
 */
import { createHash, randomBytes } from 'node:crypto';

/** 32 bytes: twice the contract's minimum of 128 random bits. */
export const CALLBACK_TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A new token; `random` is crypto.randomBytes (a parameter only so a test can see what it is given). */
export function newCallbackToken(random: (size: number) => Buffer = randomBytes): string {
  return random(CALLBACK_TOKEN_BYTES).toString('base64url');
}

/** True for a string shaped like a token (anything else cannot be one: no lookup needed). */
export function isCallbackToken(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}

/** The stored form of a token: SHA-256, hex. */
export function hashCallbackToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
