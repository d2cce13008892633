/** Opaque page cursors: the last item's (number, string) position, as base64url JSON. */

export function encodeCursorPair(n: number, s: string): string {
  return Buffer.from(JSON.stringify([n, s])).toString('base64url');
}

/** The pair of a cursor made by encodeCursorPair, if `valid` accepts it; undefined when it is not one. */
export function decodeCursorPair(
  cursor: string,
  valid: (n: number, s: string) => boolean,
): [number, string] | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string') {
      if (valid(v[0] as number, v[1])) return [v[0] as number, v[1]];
    }
  } catch {
    // not base64url JSON: not a cursor
  }
  return undefined;
}

/**
 * A page from `rows` read with `limit + 1`: the first `limit` items and, when more remain, the
 * cursor after the last of them.
 */
export function pageOf<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => string,
): { items: T[]; next: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
