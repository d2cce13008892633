/**
 * Integration secrets are used by name in http task templates, and only directly: a template
 * whose whole expression is `secrets.NAME` (or `$encodeUrlComponent(secrets.NAME)` /
 * `$encodeUrl(secrets.NAME)`, for a value inside a URL) in the task's url, headers or body.
 * The engine substitutes the value itself; no JSONata expression ever sees a secret, so none
 * can transform it into a form redaction would not recognize ($base64encode, $substring,
 * $uppercase, concatenation...). Every other use is refused at save time with its field path,
 * and fails the task at run time (SECRET_MISUSE) for a definition stored before the rule.
 */
import type { FieldIssue } from '../errors.js';
import { compileExpression } from './expressions.js';
import { joinPath } from './field-path.js';
import { MAX_JSON_DEPTH, nodePath, walkJson } from './json-value.js';
import { hasTemplateMarkers, parseTemplate } from './templates.js';

/** A secret's name: letters, digits and underscores (also its last SSM path segment). */
export const SECRET_NAME = /^[A-Za-z0-9_]{1,128}$/;

/** How a direct use writes the value: as it is, or URL-encoded as JSONata's function would. */
export type SecretEncoding = 'raw' | 'url-component' | 'url';

export interface DirectSecretUse {
  name: string;
  encoding: SecretEncoding;
}

const DIRECT = /^\s*secrets\s*\.\s*([A-Za-z0-9_]{1,128})\s*$/;
const ENCODED = /^\s*\$(encodeUrlComponent|encodeUrl)\s*\(\s*secrets\s*\.\s*([A-Za-z0-9_]{1,128})\s*\)\s*$/;

/** The secret a template expression uses directly, or undefined when it is not such a use. */
export function directSecretUse(expression: string): DirectSecretUse | undefined {
  const direct = DIRECT.exec(expression);
  if (direct?.[1] !== undefined) return { name: direct[1], encoding: 'raw' };
  const encoded = ENCODED.exec(expression);
  if (encoded?.[2] === undefined) return undefined;
  return { name: encoded[2], encoding: encoded[1] === 'encodeUrl' ? 'url' : 'url-component' };
}

/** The value as a direct use writes it. */
export function encodeSecret(value: string, encoding: SecretEncoding): string {
  if (encoding === 'url-component') return encodeURIComponent(value);
  if (encoding === 'url') return encodeURI(value);
  return value;
}

interface AstNode {
  type?: unknown;
  value?: unknown;
  steps?: unknown;
}

/**
 * True when the JSONata source reads `secrets` from its context: a path starting with the name
 * `secrets`, also after `$` or `$$` (`alert.secrets` is another field). Unparsable source is
 * reported by the syntax checks, not here.
 */
export function readsSecrets(src: string): boolean {
  let ast: unknown;
  try {
    ast = compileExpression(src).ast();
  } catch {
    return false;
  }
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
      continue;
    }
    const n = node as AstNode;
    if (n.type === 'path' && Array.isArray(n.steps)) {
      const steps = n.steps as AstNode[];
      const root = steps[0]?.type === 'variable' && (steps[0].value === '' || steps[0].value === '$') ? 1 : 0;
      const first = steps[root];
      if (first?.type === 'name' && first.value === 'secrets') return true;
    }
    for (const value of Object.values(n)) if (value !== null && typeof value === 'object') stack.push(value);
  }
  return false;
}

const ONLY_DIRECT =
  'secrets can only be used as {{ secrets.NAME }} (or {{ $encodeUrlComponent(secrets.NAME) }}), alone in a template: no function or operator may use their value';
const NOT_HERE = "secrets are only available in http tasks' url, headers and body";

/**
 * Every use of `secrets` in the templates of `value` that is not a direct use, or any use at
 * all when `allowed` is false (templates outside an http config). Paths start at `pathPrefix`.
 */
export function secretTemplateIssues(value: unknown, pathPrefix: string, allowed: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  walkJson(value, MAX_JSON_DEPTH, (node) => {
    if (typeof node.value !== 'string' || !hasTemplateMarkers(node.value)) return true;
    let parts: ReturnType<typeof parseTemplate>;
    try {
      parts = parseTemplate(node.value);
    } catch {
      return true; // the template checks report it
    }
    for (const part of parts) {
      if (part.kind !== 'expression') continue;
      const direct = directSecretUse(part.expression) !== undefined;
      if ((direct && !allowed) || (!direct && readsSecrets(part.expression))) {
        const path = nodePath(node).reduce<string>((p, segment) => joinPath(p, segment), pathPrefix);
        issues.push({ path, message: allowed ? ONLY_DIRECT : NOT_HERE });
        break;
      }
    }
    return issues.length < 50;
  });
  return issues;
}

/** An issue when a bare expression (transform, run_if, for_each) reads `secrets`. */
export function secretExpressionIssue(src: string, path: string): FieldIssue | undefined {
  return readsSecrets(src) ? { path, message: NOT_HERE } : undefined;
}

/** The distinct secret names an http config uses directly (the only ones resolved), sorted. */
export function secretRefs(value: unknown): string[] {
  const names = new Set<string>();
  walkJson(value, MAX_JSON_DEPTH, (node) => {
    if (typeof node.value !== 'string' || !hasTemplateMarkers(node.value)) return true;
    try {
      for (const part of parseTemplate(node.value)) {
        const use = part.kind === 'expression' ? directSecretUse(part.expression) : undefined;
        if (use) names.add(use.name);
      }
    } catch {
      // rendering reports the syntax error
    }
    return true;
  });
  return [...names].sort();
}
