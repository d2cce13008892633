/**
 * One way to spell an input location everywhere in error details:
 * dots for object keys, [i] for array indexes, '(root)' for the whole input.
 */

/** Formats path segments as `tasks[2].depends_on[0]`; an empty path is `(root)`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Appends a key or index to an already formatted path ('(root)' counts as empty). */
export function joinPath(prefix: string, segment: string | number): string {
  const base = prefix === '(root)' ? '' : prefix;
  if (typeof segment === 'number') return `${base}[${segment}]`;
  return base === '' ? segment : `${base}.${segment}`;
}
