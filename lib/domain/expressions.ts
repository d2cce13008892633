/**
 * JSONata compilation and bounded evaluation. Expressions come from playbook authors and
 * run inside shared Lambda functions, so every evaluation is limited in time, nesting
 * depth, intermediate work and output size, and a failure is always an ExpressionError.
 * Regular expressions, the one thing the evaluation hooks cannot interrupt (a backtracking
 * match is a single native call), run in a worker thread stopped at the deadline
 * (regex-sandbox.ts explains the choice).
 */
import jsonata from 'jsonata';
import { safeDistinct, safePad } from './expression-builtins.js';
import { ExpressionError } from './expression-error.js';
import { type RegexEngine, sandboxedRegexEngine, sandboxedToMillis } from './sandboxed-regex.js';

export { ExpressionError, type ExpressionErrorCode } from './expression-error.js';

export interface ExpressionLimits {
  /** Wall-clock budget of one evaluation. */
  timeoutMs?: number;
  /** Absolute Date.now() after which evaluation stops, to share one budget across several evaluations. */
  deadline?: number;
  /** Maximum nesting of JSONata evaluation frames (recursion, deeply nested expressions). */
  maxDepth?: number;
  /** Maximum size of the result as JSON text (UTF-16 code units). */
  maxOutputBytes?: number;
  /** Budget of intermediate work: array items plus string characters / 8 produced by sub-expressions. */
  maxWork?: number;
}

export const DEFAULT_EXPRESSION_LIMITS: Readonly<Required<Omit<ExpressionLimits, 'deadline'>>> = {
  timeoutMs: 250,
  maxDepth: 200,
  maxOutputBytes: 64 * 1024,
  maxWork: 2_000_000,
};

export const MAX_EXPRESSION_LENGTH = 16_384;
/** JSONata's own guard against single huge allocations such as `[1..10000000]`. */
export const MAX_SEQUENCE_LENGTH = 100_000;
const CACHE_CAPACITY = 500;
// A compiled AST costs ~50 bytes per source character, so the cache is also bounded by
// total source length: 500 hostile 16 KiB expressions would otherwise hold ~400 MB.
const CACHE_MAX_SOURCE_CHARS = 1_000_000;

/** Per-evaluation state, reached from the shared hooks through a binding. */
interface EvaluationState {
  deadline: number;
  maxDepth: number;
  maxWork: number;
  depth: number;
  work: number;
  timeoutMs: number;
}

// A binding name no JSONata source can spell (`$` names stop at spaces and operators), so an
// expression can neither read nor shadow its own limits with `$name := ...`.
const STATE_BINDING = 'playbook engine limits';
const ENTRY_HOOK = Symbol.for('jsonata.__evaluate_entry');
const EXIT_HOOK = Symbol.for('jsonata.__evaluate_exit');

interface HookEnvironment {
  lookup(name: string): unknown;
}

function stateOf(environment: HookEnvironment): EvaluationState | undefined {
  return environment.lookup(STATE_BINDING) as EvaluationState | undefined;
}

// The hooks are installed once per compiled expression and hold no state of their own:
// all counters live in the per-call binding, so concurrent evaluations of one cached
// expression cannot see each other's depth or deadline.
function onEntry(_expr: unknown, _input: unknown, environment: HookEnvironment): void {
  const state = stateOf(environment);
  if (state === undefined) return;
  state.depth += 1;
  if (state.depth > state.maxDepth) {
    throw new ExpressionError(
      'EXPRESSION_TOO_DEEP',
      `expression nested or recursed deeper than ${state.maxDepth} levels`,
    );
  }
  if (Date.now() > state.deadline) {
    throw new ExpressionError('EXPRESSION_TIMEOUT', `expression did not finish within ${state.timeoutMs} ms`);
  }
}

function onExit(_expr: unknown, _input: unknown, environment: HookEnvironment, result: unknown): void {
  const state = stateOf(environment);
  if (state === undefined) return;
  state.depth -= 1;
  // Counting what sub-expressions produce bounds memory growth (e.g. `[1..90000].[1..90000]`
  // or repeated string doubling) long before the time limit would notice.
  if (Array.isArray(result)) state.work += result.length;
  else if (typeof result === 'string') state.work += result.length >> 3;
  if (state.work > state.maxWork) {
    throw new ExpressionError('EXPRESSION_OUTPUT_TOO_LARGE', 'expression produced too much intermediate data');
  }
}

// `$toMillis` with a picture matches with a regular expression JSONata builds: sandboxed too.
const toMillisSandboxed = sandboxedToMillis(
  (environment) => stateOf(environment as HookEnvironment),
  DEFAULT_EXPRESSION_LIMITS.timeoutMs,
);

const cache = new Map<string, jsonata.Expression>();
let cachedChars = 0;

/**
 * Each compiled expression's options object. JSONata reads `RegexEngine` from it when an
 * evaluation starts (synchronously, before its first await), so setting it right before
 * `evaluate()` gives each evaluation a regex engine bound to its own deadline, even when
 * evaluations of one cached expression interleave.
 */
interface CompileOptions {
  sequence: number;
  RegexEngine?: RegexEngine;
}
const compileOptions = new WeakMap<jsonata.Expression, CompileOptions>();

interface JsonataErrorShape {
  code?: unknown;
  message?: unknown;
  position?: unknown;
  error?: unknown;
}

function asJsonataError(err: unknown): JsonataErrorShape | undefined {
  return err !== null && typeof err === 'object' ? (err as JsonataErrorShape) : undefined;
}

/**
 * Compiles JSONata source (cached: at most 500 entries and 1M source characters, least
 * recently used evicted).
 * Throws ExpressionError 'EXPRESSION_SYNTAX' with JSONata's message and position.
 */
export function compileExpression(src: string): jsonata.Expression {
  const cached = cache.get(src);
  if (cached !== undefined) {
    // Re-insert so Map order tracks recency and eviction drops the least recently used.
    cache.delete(src);
    cache.set(src, cached);
    return cached;
  }
  if (src.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError('EXPRESSION_SYNTAX', `expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  if (src.trim() === '') throw new ExpressionError('EXPRESSION_SYNTAX', 'expression is empty');
  let expression: jsonata.Expression;
  const options: CompileOptions = { sequence: MAX_SEQUENCE_LENGTH };
  try {
    expression = jsonata(src, options as jsonata.JsonataOptions);
  } catch (err) {
    throw toSyntaxError(err);
  }
  compileOptions.set(expression, options);
  expression.assign(ENTRY_HOOK as unknown as string, onEntry);
  expression.assign(EXIT_HOOK as unknown as string, onExit);
  expression.registerFunction('pad', safePad, '<s-ns?:s>');
  expression.registerFunction('distinct', safeDistinct, '<x:x>');
  expression.registerFunction('toMillis', toMillisSandboxed, '<s-s?:n>');
  cache.set(src, expression);
  cachedChars += src.length;
  while (cache.size > CACHE_CAPACITY || cachedChars > CACHE_MAX_SOURCE_CHARS) {
    const oldest = cache.keys().next();
    if (oldest.done === true) break;
    cache.delete(oldest.value);
    cachedChars -= oldest.value.length;
  }
  return expression;
}

function toSyntaxError(err: unknown): ExpressionError {
  // The recursive-descent parser exhausts the JS stack on e.g. thousands of nested parentheses.
  if (err instanceof RangeError) {
    return new ExpressionError('EXPRESSION_SYNTAX', 'expression is nested too deeply', { cause: err });
  }
  const j = asJsonataError(err);
  const message = typeof j?.message === 'string' ? j.message : 'invalid expression';
  const position = typeof j?.position === 'number' ? j.position : undefined;
  const jsonataCode = typeof j?.code === 'string' ? j.code : undefined;
  return new ExpressionError('EXPRESSION_SYNTAX', message, { position, jsonataCode, cause: err });
}

/** Number of entries in the compile cache (for tests and metrics). */
export function expressionCacheSize(): number {
  return cache.size;
}

/**
 * Evaluates JSONata source against `context` within `limits` (defaults: 250 ms, depth 200,
 * 64 KiB of JSON output). Resolves to a plain JSON value or undefined; rejects only with
 * ExpressionError.
 */
export async function evaluateExpression(
  src: string,
  context: unknown,
  limits: ExpressionLimits = {},
): Promise<unknown> {
  const expression = compileExpression(src);
  const timeoutMs = limits.timeoutMs ?? DEFAULT_EXPRESSION_LIMITS.timeoutMs;
  const now = Date.now();
  const deadline = Math.min(now + timeoutMs, limits.deadline ?? Number.POSITIVE_INFINITY);
  const state: EvaluationState = {
    deadline,
    maxDepth: limits.maxDepth ?? DEFAULT_EXPRESSION_LIMITS.maxDepth,
    maxWork: limits.maxWork ?? DEFAULT_EXPRESSION_LIMITS.maxWork,
    depth: 0,
    work: 0,
    // Reported in the timeout message: the effective budget, which a shared deadline may shorten.
    timeoutMs: Math.max(0, deadline - now),
  };
  let result: unknown;
  const options = compileOptions.get(expression);
  if (options !== undefined) options.RegexEngine = sandboxedRegexEngine(state);
  try {
    result = await expression.evaluate(context, { [STATE_BINDING]: state });
  } catch (err) {
    throw toEvaluationError(err);
  }
  return toBoundedJson(result, limits.maxOutputBytes ?? DEFAULT_EXPRESSION_LIMITS.maxOutputBytes);
}

function toEvaluationError(err: unknown): ExpressionError {
  // $eval wraps inner failures in D3121 with the original under `.error`; find our own limit errors first.
  for (let e: unknown = err, hops = 0; e !== undefined && hops < 10; e = asJsonataError(e)?.error, hops += 1) {
    if (e instanceof ExpressionError) return new ExpressionError(e.code, e.message, { cause: err });
  }
  if (err instanceof RangeError) {
    const tooDeep = /call stack/i.test(err.message);
    return new ExpressionError(
      tooDeep ? 'EXPRESSION_TOO_DEEP' : 'EXPRESSION_OUTPUT_TOO_LARGE',
      tooDeep ? 'expression recursed too deeply' : 'expression produced a value that is too large',
      { cause: err },
    );
  }
  const j = asJsonataError(err);
  const jsonataCode = typeof j?.code === 'string' ? j.code : undefined;
  const message = typeof j?.message === 'string' ? j.message : 'expression failed';
  const position = typeof j?.position === 'number' ? j.position : undefined;
  // D2014/D2015: a range or sequence longer than JSONata allows.
  if (jsonataCode === 'D2014' || jsonataCode === 'D2015') {
    return new ExpressionError('EXPRESSION_OUTPUT_TOO_LARGE', message, { position, jsonataCode, cause: err });
  }
  return new ExpressionError('EXPRESSION_FAILED', message, { position, jsonataCode, cause: err });
}

/**
 * Converts a JSONata result to plain JSON (sequences flattened to arrays, functions dropped)
 * after a bounded size estimate, so a huge result is refused before JSON.stringify builds it.
 */
function toBoundedJson(result: unknown, maxBytes: number): unknown {
  if (result === undefined || isJsonataFunction(result)) return undefined;
  if (estimateJsonSize(result, maxBytes) > maxBytes) throw outputTooLarge(maxBytes);
  let text: string | undefined;
  try {
    text = JSON.stringify(result, dropFunctions) as string | undefined;
  } catch (err) {
    throw new ExpressionError('EXPRESSION_FAILED', 'expression result is not JSON', { cause: err });
  }
  if (text === undefined) return undefined;
  if (text.length > maxBytes) throw outputTooLarge(maxBytes);
  return JSON.parse(text) as unknown;
}

// JSONata lambdas and partial applications are plain objects carrying their whole closure
// environment; they must never be serialised (that environment may even be circular).
function isJsonataFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  const marks = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
  return marks._jsonata_lambda === true || marks._jsonata_function === true;
}

function dropFunctions(_key: string, value: unknown): unknown {
  return isJsonataFunction(value) ? undefined : value;
}

function outputTooLarge(maxBytes: number): ExpressionError {
  return new ExpressionError(
    'EXPRESSION_OUTPUT_TOO_LARGE',
    `expression result is larger than ${maxBytes} bytes of JSON`,
  );
}

// Iterative and stops as soon as the running total passes `limit`; a lower bound of the
// JSON length (escapes are ignored), good enough to refuse huge values cheaply.
function estimateJsonSize(value: unknown, limit: number): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && total <= limit) {
    const v = stack.pop();
    if (isJsonataFunction(v)) continue;
    if (typeof v === 'string') total += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) total += 4;
    else if (Array.isArray(v)) {
      total += 2 + v.length;
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object') {
      total += 2;
      for (const [key, item] of Object.entries(v)) {
        total += key.length + 4;
        stack.push(item);
      }
    }
  }
  return total;
}
