/**
 * `{{ jsonata }}` templates inside http task configs. A string that is exactly one
 * template yields the raw value; otherwise each template is interpolated as text.
 */
import type { FieldIssue } from '../errors.js';
import { compileExpression, ExpressionError, type ExpressionLimits, evaluateExpression } from './expressions.js';
import { joinPath } from './field-path.js';
import { isPlainObject, MAX_JSON_DEPTH, nodePath, walkJson } from './json-value.js';

/** What templates and run_if expressions are evaluated against. */
export interface TemplateContext {
  alert: unknown;
  // status is a plain string so callers can pass stored rows without narrowing them first.
  tasks: Record<string, { status: string; output: unknown; error: unknown }>;
  execution: { peid: string; tenant_code: string };
}

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'expression'; expression: string; offset: number };

export interface TemplateLimits extends ExpressionLimits {
  /** Budget for rendering one whole value (all its templates together). */
  totalTimeoutMs?: number;
  /** Maximum total size of the rendered strings and raw values. */
  maxTotalBytes?: number;
}

export const DEFAULT_TEMPLATE_TOTAL_TIMEOUT_MS = 1000;
export const DEFAULT_TEMPLATE_MAX_TOTAL_BYTES = 1024 * 1024;
const MAX_TEMPLATE_ISSUES = 50;

/**
 * Splits a string into literal text and `{{ }}` expressions. Inside a template, JSONata
 * strings, comments and object braces are skipped, so `{{ {"a": {"b": 1}} }}` works.
 * Throws ExpressionError 'EXPRESSION_SYNTAX' on an unclosed `{{` or a stray `}}`.
 */
export function parseTemplate(str: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let textStart = 0;
  let i = 0;
  while (i < str.length) {
    if (str.startsWith('{{', i)) {
      const close = findClose(str, i + 2);
      if (textStart < i) parts.push({ kind: 'text', text: str.slice(textStart, i) });
      parts.push({ kind: 'expression', expression: str.slice(i + 2, close), offset: i + 2 });
      i = close + 2;
      textStart = i;
    } else if (str.startsWith('}}', i)) {
      throw new ExpressionError('EXPRESSION_SYNTAX', `"}}" at offset ${i} has no matching "{{"`, { position: i });
    } else {
      i += 1;
    }
  }
  if (textStart < str.length) parts.push({ kind: 'text', text: str.slice(textStart) });
  return parts;
}

// Returns the index of the `}}` that closes a template whose body starts at `from`.
function findClose(str: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < str.length) {
    const c = str[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipQuoted(str, i, c);
    } else if (str.startsWith('/*', i)) {
      const end = str.indexOf('*/', i + 2);
      if (end < 0) throw unclosed(from);
      i = end + 2;
    } else if (c === '{') {
      depth += 1;
      i += 1;
    } else if (c === '}') {
      if (depth === 0 && str[i + 1] === '}') return i;
      if (depth > 0) depth -= 1;
      i += 1;
    } else {
      i += 1;
    }
  }
  throw unclosed(from);
}

function skipQuoted(str: string, start: number, quote: string): number {
  // JSONata string literals use backslash escapes; backtick names do not.
  for (let i = start + 1; i < str.length; i += 1) {
    const c = str[i];
    if (c === '\\' && quote !== '`') i += 1;
    else if (c === quote) return i + 1;
  }
  throw new ExpressionError('EXPRESSION_SYNTAX', `unterminated ${quote} quote inside a template`, { position: start });
}

function unclosed(from: number): ExpressionError {
  return new ExpressionError('EXPRESSION_SYNTAX', `"{{" at offset ${from - 2} is never closed with "}}"`, {
    position: from - 2,
  });
}

/** The inner JSONata source of every `{{ }}` in `str`; throws ExpressionError on unbalanced braces. */
export function findTemplates(str: string): string[] {
  const expressions: string[] = [];
  for (const part of parseTemplate(str)) if (part.kind === 'expression') expressions.push(part.expression);
  return expressions;
}

/** True when `str` contains at least one `{{` or `}}` and so needs rendering or validation. */
export function hasTemplateMarkers(str: string): boolean {
  return str.includes('{{') || str.includes('}}');
}

/**
 * Lists every template problem in a (possibly nested) value: unbalanced braces and
 * expressions that do not compile. Paths start at `pathPrefix`, e.g. `tasks[0].config`.
 */
export function collectTemplateErrors(value: unknown, pathPrefix: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  walkJson(value, MAX_JSON_DEPTH, (node) => {
    if (typeof node.value !== 'string' || !hasTemplateMarkers(node.value)) return true;
    const path = nodePath(node).reduce<string>((p, segment) => joinPath(p, segment), pathPrefix);
    const message = templateError(node.value);
    if (message !== undefined) issues.push({ path, message });
    return issues.length < MAX_TEMPLATE_ISSUES;
  });
  return issues;
}

// The first problem of one string, or undefined when all its templates compile.
function templateError(str: string): string | undefined {
  let parts: TemplatePart[];
  try {
    parts = parseTemplate(str);
  } catch (err) {
    return `invalid template: ${err instanceof Error ? err.message : String(err)}`;
  }
  for (const part of parts) {
    if (part.kind !== 'expression') continue;
    try {
      compileExpression(part.expression);
    } catch (err) {
      const detail = err instanceof ExpressionError ? describeSyntaxError(err) : String(err);
      return `invalid template {{${truncate(part.expression, 80)}}}: ${detail}`;
    }
  }
  return undefined;
}

/** JSONata's message plus where it points, for validation details. */
export function describeSyntaxError(err: ExpressionError): string {
  return err.position === undefined ? err.message : `${err.message} (at position ${err.position})`;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}...`;
}

/**
 * A value the caller supplies for a template expression instead of evaluating it (the engine's
 * direct secret uses), or undefined to evaluate the expression.
 */
export type TemplateSubstitution = (expression: string) => { value: unknown } | undefined;

/**
 * Renders every string inside `value` (objects and arrays walked up to 32 levels) against
 * `context`. Exactly one `{{ expr }}` yields the raw value (undefined becomes null);
 * otherwise values are interpolated: strings as-is, null/undefined as '', others as JSON.
 * An expression `substitute` answers for is not evaluated: its answer is the value.
 */
export async function renderTemplate(
  value: unknown,
  context: TemplateContext,
  limits: TemplateLimits = {},
  substitute?: TemplateSubstitution,
): Promise<unknown> {
  const budget: RenderBudget = {
    substitute,
    limits: {
      ...limits,
      deadline: Math.min(
        limits.deadline ?? Number.POSITIVE_INFINITY,
        Date.now() + (limits.totalTimeoutMs ?? DEFAULT_TEMPLATE_TOTAL_TIMEOUT_MS),
      ),
    },
    remainingBytes: limits.maxTotalBytes ?? DEFAULT_TEMPLATE_MAX_TOTAL_BYTES,
  };
  return renderValue(value, context, budget, 0);
}

interface RenderBudget {
  limits: ExpressionLimits;
  remainingBytes: number;
  substitute: TemplateSubstitution | undefined;
}

function evaluatePart(expression: string, context: unknown, budget: RenderBudget): Promise<unknown> | unknown {
  const given = budget.substitute?.(expression);
  return given === undefined ? evaluateExpression(expression, context, budget.limits) : given.value;
}

async function renderValue(value: unknown, context: unknown, budget: RenderBudget, depth: number): Promise<unknown> {
  if (typeof value === 'string') return renderString(value, context, budget);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_JSON_DEPTH) {
    throw new ExpressionError('EXPRESSION_TOO_DEEP', `value is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) out.push(await renderValue(item, context, budget, depth + 1));
    return out;
  }
  if (!isPlainObject(value)) return value;
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value)) {
    entries.push([key, await renderValue(item, context, budget, depth + 1)]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays data, never a prototype.
  return Object.fromEntries(entries);
}

async function renderString(str: string, context: unknown, budget: RenderBudget): Promise<unknown> {
  if (!hasTemplateMarkers(str)) return str;
  const parts = parseTemplate(str);
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only?.kind === 'expression') {
    const raw = await evaluatePart(only.expression, context, budget);
    charge(budget, raw === undefined ? 4 : (JSON.stringify(raw)?.length ?? 4));
    return raw === undefined ? null : raw;
  }
  let out = '';
  for (const part of parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    const v = await evaluatePart(part.expression, context, budget);
    const text = v === undefined || v === null ? '' : typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
    charge(budget, text.length);
    out += text;
  }
  return out;
}

function charge(budget: RenderBudget, bytes: number): void {
  budget.remainingBytes -= bytes;
  if (budget.remainingBytes < 0) {
    throw new ExpressionError('EXPRESSION_OUTPUT_TOO_LARGE', 'rendered templates are larger than allowed');
  }
}
