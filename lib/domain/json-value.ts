/** A value that survives a JSON round trip unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Nesting and size bounds for free-form JSON inside a playbook (e.g. an http body). */
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_NODES = 10_000;

/** A problem found in a JSON value; `path` is relative to the value walked. */
export interface JsonProblem {
  path: (string | number)[];
  message: string;
}

/** A visited node; paths are rebuilt from parent links only when a problem is reported. */
export interface JsonNode {
  value: unknown;
  key: string | number | undefined;
  parent: JsonNode | undefined;
  depth: number;
}

/** True for `{}`-style objects; rejects class instances (Date, Map, Buffer) that JSON would mangle. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The key/index path from the walk's root to `node`. */
export function nodePath(node: JsonNode): (string | number)[] {
  const path: (string | number)[] = [];
  for (let n: JsonNode | undefined = node; n?.key !== undefined; n = n.parent) path.push(n.key);
  return path.reverse();
}

/**
 * Visits every node of `value` in document order, iteratively (no recursion), never
 * descending below `maxDepth`. `visit` returns false to stop the walk early.
 */
export function walkJson(value: unknown, maxDepth: number, visit: (node: JsonNode) => boolean): void {
  const stack: JsonNode[] = [{ value, key: undefined, parent: undefined, depth: 0 }];
  while (stack.length > 0) {
    const node = stack.pop() as JsonNode;
    if (!visit(node)) return;
    const v = node.value;
    if (node.depth >= maxDepth || v === null || typeof v !== 'object') continue;
    // Pushed in reverse so nodes are visited in document order.
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i -= 1) {
        stack.push({ value: v[i], key: i, parent: node, depth: node.depth + 1 });
      }
    } else if (isPlainObject(v)) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const key = keys[i] as string;
        stack.push({ value: v[key], key, parent: node, depth: node.depth + 1 });
      }
    }
  }
}

/**
 * Lists why `value` is not plain, bounded JSON (wrong types, non-finite numbers, too deep,
 * too many values). Iterative and bounded, so hostile or cyclic input can neither hang nor
 * overflow the stack.
 */
export function findJsonProblems(value: unknown, maxDepth = MAX_JSON_DEPTH, maxNodes = MAX_JSON_NODES): JsonProblem[] {
  const problems: JsonProblem[] = [];
  let nodes = 0;
  walkJson(value, maxDepth, (node) => {
    nodes += 1;
    if (nodes > maxNodes) {
      problems.push({ path: [], message: `must not contain more than ${maxNodes} values` });
      return false;
    }
    const v = node.value;
    if (typeof v === 'number' && !Number.isFinite(v)) {
      problems.push({ path: nodePath(node), message: 'must be a finite number' });
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !isPlainObject(v)) {
      problems.push({ path: nodePath(node), message: 'must be a JSON value' });
    } else if (typeof v === 'function' || typeof v === 'undefined' || typeof v === 'bigint' || typeof v === 'symbol') {
      problems.push({ path: nodePath(node), message: 'must be a JSON value' });
    } else if (v !== null && typeof v === 'object' && node.depth >= maxDepth) {
      problems.push({ path: nodePath(node), message: `must not be nested deeper than ${maxDepth} levels` });
    }
    return problems.length < 50;
  });
  return problems;
}

/**
 * How deeply JSON that enters from outside (alerts, integration answers, webhook bodies) may
 * nest. Far beyond real documents, far below what recursive code (JSON.stringify, BSON,
 * templates) can take on a Lambda main thread: JSON.parse accepts 100,000 nested arrays, but
 * JSON.stringify overflows the stack on 5,000.
 */
export const MAX_INPUT_JSON_DEPTH = 64;

/**
 * The path of the first array or object of `value` nested deeper than `maxDepth` levels (the
 * root container is level 1), or undefined when none is. Iterative: any depth is safe to check.
 */
export function tooDeepAt(value: unknown, maxDepth = MAX_INPUT_JSON_DEPTH): (string | number)[] | undefined {
  let found: JsonNode | undefined;
  walkJson(value, maxDepth, (node) => {
    if (node.depth >= maxDepth && node.value !== null && typeof node.value === 'object') {
      found = node;
      return false;
    }
    return true;
  });
  return found === undefined ? undefined : nodePath(found);
}

/** Outcome of parsing outside JSON text with a depth bound. */
export type BoundedJson =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'syntax' | 'depth'; message: string; path?: (string | number)[] };

/**
 * Parses JSON text from outside (V8's JSON.parse is iterative), then refuses a value nested
 * deeper than `maxDepth`. Never throws: a syntax error or a too-deep value is an outcome.
 */
export function parseJsonWithin(text: string, maxDepth = MAX_INPUT_JSON_DEPTH): BoundedJson {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    return { ok: false, reason: 'syntax', message: err instanceof Error ? err.message : 'invalid JSON' };
  }
  const path = tooDeepAt(value, maxDepth);
  if (path !== undefined) {
    return { ok: false, reason: 'depth', message: `nested deeper than ${maxDepth} levels`, path };
  }
  return { ok: true, value };
}
