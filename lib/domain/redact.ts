/**
 * Redaction of integration secrets from anything the service stores or returns: each
 * resolved secret value (and the forms it takes inside JSON text and URLs) is replaced
 * with `[redacted]` in strings and object keys, however deeply nested. Pure, iterative
 * (a hostile integration answer nested thousands of levels deep cannot overflow the stack).
 */

export const REDACTED = '[redacted]';

/**
 * The strings to look for, longest first: each value as-is, JSON-escaped and URL-encoded (the
 * forms a direct use writes and JSON text takes), and base64 / base64url (the form an
 * integration echoing a header back encoded gives). No expression can transform a secret
 * (secret-refs.ts), so these are all the forms the service itself produces.
 */
export function redactionNeedles(secrets: readonly string[]): string[] {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length === 0) continue;
    needles.add(s);
    needles.add(JSON.stringify(s).slice(1, -1));
    needles.add(encodeURIComponent(s));
    needles.add(encodeURI(s));
    // Short values would make short, common base64 needles; a real credential is never that short.
    if (s.length >= 6) {
      const base64 = Buffer.from(s, 'utf8').toString('base64');
      needles.add(base64);
      needles.add(base64.replace(/=+$/, ''));
      needles.add(Buffer.from(s, 'utf8').toString('base64url'));
    }
  }
  return [...needles].sort((a, b) => b.length - a.length);
}

/** `text` with every needle replaced. */
export function redactText(text: string, needles: readonly string[]): string {
  let out = text;
  for (const n of needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
  return out;
}

/** A copy of `value` (JSON-like: strings, numbers, arrays, plain objects) with every secret redacted. */
export function redactSecrets<T>(value: T, secrets: readonly string[]): T {
  const needles = redactionNeedles(secrets);
  if (needles.length === 0) return value;
  if (typeof value === 'string') return redactText(value, needles) as T;
  if (value === null || typeof value !== 'object') return value;
  const copies = new Map<object, unknown>();
  const copyOf = (src: object): unknown => {
    const seen = copies.get(src);
    if (seen !== undefined) return seen;
    const dst: unknown = Array.isArray(src) ? [] : {};
    copies.set(src, dst);
    stack.push([src, dst as Record<string, unknown>]);
    return dst;
  };
  const stack: Array<[object, Record<string, unknown>]> = [];
  const root = copyOf(value);
  while (stack.length > 0) {
    const [src, dst] = stack.pop() as [object, Record<string, unknown>];
    for (const [k, v] of Object.entries(src)) {
      const item = typeof v === 'string' ? redactText(v, needles) : v !== null && typeof v === 'object' ? copyOf(v) : v;
      // defineProperty: a "__proto__" key stays data, never a prototype.
      Object.defineProperty(dst, Array.isArray(src) ? k : redactText(k, needles), {
        value: item,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return root as T;
}
