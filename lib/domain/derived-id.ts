/** Identifiers derived from a key: the same key always gives the same id (an idempotent start). */
import { createHash } from 'node:crypto';

/** A UUID (RFC 9562 version 8, custom, with the variant bits set) derived from `key` by SHA-256. */
export function derivedUuid(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
