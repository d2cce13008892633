/**
 * Replacements for the JSONata built-ins whose cost is not bounded by the evaluation hooks:
 * they run as one synchronous native call, so neither the time limit nor the depth limit
 * can interrupt them. Same names, signatures and results as JSONata 2.2's versions.
 */
import { ExpressionError } from './expression-error.js';

/** Longest padding `$pad` may add; far above any useful value, far below a memory problem. */
export const MAX_PAD_LENGTH = 1_000_000;

/** Like JSONata's $pad, but refuses a width that would allocate a huge string. */
export function safePad(str: string | undefined, width: number, char?: string): string | undefined {
  if (str === undefined) return undefined;
  const fill = char === undefined || char.length === 0 ? ' ' : char;
  const w = Math.trunc(width);
  // JSONata counts code points, not UTF-16 units.
  const padLength = Math.abs(w) - Array.from(str).length;
  if (!(padLength > 0)) return str;
  if (padLength > MAX_PAD_LENGTH) {
    throw new ExpressionError('EXPRESSION_OUTPUT_TOO_LARGE', `$pad cannot add more than ${MAX_PAD_LENGTH} characters`);
  }
  const fillPoints = Array.from(fill);
  // Repeat only as often as needed, then cut to padLength code points (JSONata's result).
  const repeated = fill.repeat(Math.ceil(padLength / fillPoints.length));
  const padding = fillPoints.length === 1 ? repeated : Array.from(repeated).slice(0, padLength).join('');
  return w > 0 ? str + padding : padding + str;
}

/**
 * Like JSONata's $distinct (deep equality, object key order ignored), but linear: JSONata
 * compares every pair, which takes seconds for 100,000 items and cannot be interrupted.
 */
export function safeDistinct(arr: unknown): unknown {
  if (!Array.isArray(arr) || arr.length <= 1) return arr;
  const isSequence = (arr as { sequence?: unknown }).sequence === true;
  const out: unknown[] & { sequence?: boolean } = [];
  // Sequences keep their marker so JSONata still unwraps a single result as it would.
  if (isSequence) out.sequence = true;
  const seen = new Set<string>();
  const identities = new Map<unknown, string>();
  for (const value of arr) {
    const key = canonicalKey(value, identities);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(value);
  }
  return out;
}

// Equal keys exactly when JSONata's isDeepEqual holds for JSON data; functions (whose
// closures are not data) compare by identity.
function canonicalKey(value: unknown, identities: Map<unknown, string>): string {
  if (typeof value === 'function' || isLambda(value)) {
    let id = identities.get(value);
    if (id === undefined) {
      id = `fn#${identities.size}`;
      identities.set(value, id);
    }
    return id;
  }
  if (value === undefined) return 'undefined';
  return `j${JSON.stringify(value, sortedKeys)}`;
}

function isLambda(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const marks = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
  return marks._jsonata_lambda === true || marks._jsonata_function === true;
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  if (isLambda(value)) return '[function]';
  const source = value as Record<string, unknown>;
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(source).sort()) {
    Object.defineProperty(sorted, k, { value: source[k], enumerable: true, writable: true, configurable: true });
  }
  return sorted;
}
