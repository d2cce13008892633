/**
 * What JSONata sees of regular expressions: a RegexEngine (its `RegexEngine` option) whose
 * objects run every match in the regex worker (regex-sandbox.ts) within one evaluation's
 * deadline, and `$toMillis`, whose picture form parses with a regular expression JSONata builds
 * itself. Both keep JSONata's results exactly; only where the matching runs changes.
 */
import jsonata from 'jsonata';
import { execInSandbox, type SandboxMatch } from './regex-sandbox.js';

/** The budget of one evaluation, as the expression evaluator tracks it. */
export interface RegexBudget {
  deadline: number;
  timeoutMs: number;
}

/** Most matches fetched in one round trip by a global iteration (`$match`, `$replace`, `$split`). */
const MAX_BATCH = 1024;

/** The subset of RegExp that JSONata's regex closures use: `lastIndex` and `exec`. */
export interface RegexLike {
  lastIndex: number;
  exec(input: string): RegExpExecArray | null;
}

function execArray(m: SandboxMatch, text: string): RegExpExecArray {
  const out = [...m.g] as RegExpExecArray;
  out.index = m.i;
  out.input = text;
  return out;
}

/**
 * A regular expression whose matches are computed in the worker. JSONata walks a global match
 * by calling exec again from each lastIndex: the first call fetches one match (`$contains`
 * needs no more), later calls on the same string fetch batches growing x8 up to 1024.
 */
class SandboxedRegex implements RegexLike {
  lastIndex = 0;
  private text: string | undefined;
  private readonly found = new Map<number, SandboxMatch | null>();
  private batch = 1;

  constructor(
    private readonly source: string,
    private readonly flags: string,
    private readonly budget: RegexBudget,
  ) {}

  exec(input: string): RegExpExecArray | null {
    const text = typeof input === 'string' ? input : String(input);
    const repeat = this.flags.includes('g') || this.flags.includes('y');
    const from = repeat ? this.lastIndex : 0;
    if (text !== this.text) {
      this.text = text;
      this.found.clear();
      this.batch = 1;
    }
    let match = this.found.get(from);
    if (match === undefined) {
      const count = repeat ? this.batch : 1;
      const matches = execInSandbox(
        { source: this.source, flags: this.flags, text, from, count },
        this.budget.deadline,
        this.budget.timeoutMs,
      );
      this.batch = Math.min(this.batch * 8, MAX_BATCH);
      let at = from;
      for (const m of matches) {
        this.found.set(at, m);
        if (m === null) break;
        at = m.e;
      }
      match = this.found.get(from) ?? null;
    }
    if (match === null) {
      if (repeat) this.lastIndex = 0;
      return null;
    }
    if (repeat) this.lastIndex = match.e;
    return execArray(match, text);
  }
}

/** JSONata's `RegexEngine` option for one evaluation: `new Engine(regexLiteral)` -> a sandboxed regex. */
export type RegexEngine = new (literal: RegExp) => RegexLike;

/** The RegexEngine of one evaluation, bound to its budget. */
export function sandboxedRegexEngine(budget: RegexBudget): RegexEngine {
  // A constructor function returning another object: `new` yields that object.
  function Engine(literal: RegExp): RegexLike {
    return new SandboxedRegex(literal.source, literal.flags, budget);
  }
  return Engine as unknown as RegexEngine;
}

/**
 * Runs `fn` (synchronous) with the global RegExp replaced by a subclass whose exec runs in the
 * worker. For JSONata built-ins that construct their own regular expression with `new RegExp`
 * (the picture form of `$toMillis`). Nothing else runs while `fn` does, so nothing else sees it.
 */
export function withSandboxedRegExp<T>(budget: RegexBudget, fn: () => T): T {
  const holder = globalThis as unknown as { RegExp: RegExpConstructor };
  const Native = holder.RegExp;
  class Sandboxed extends Native {
    override exec(input: string): RegExpExecArray | null {
      const text = String(input);
      const repeat = this.global || this.sticky;
      const [match] = execInSandbox(
        { source: this.source, flags: this.flags, text, from: repeat ? this.lastIndex : 0, count: 1 },
        budget.deadline,
        budget.timeoutMs,
      );
      if (match === null || match === undefined) {
        if (repeat) this.lastIndex = 0;
        return null;
      }
      if (repeat) this.lastIndex = match.e;
      return execArray(match, text);
    }
  }
  holder.RegExp = Sandboxed as unknown as RegExpConstructor;
  try {
    return fn();
  } finally {
    holder.RegExp = Native;
  }
}

type NativeFunction = (this: unknown, ...args: unknown[]) => unknown;

// JSONata's own `$toMillis` (the implementation behind its built-in binding).
const nativeToMillis: Promise<NativeFunction> = jsonata('$toMillis')
  .evaluate({})
  .then((fn) => (fn as { implementation: NativeFunction }).implementation);

/**
 * `$toMillis` whose picture form (JSONata builds a case-insensitive regular expression from the
 * picture; eight adjacent `[FNn]` components backtrack polynomially) matches in the worker,
 * within the budget of the evaluation calling it (`budgetOf` finds it from JSONata's `this`).
 */
export function sandboxedToMillis(
  budgetOf: (environment: unknown) => RegexBudget | undefined,
  defaultTimeoutMs: number,
): (this: { environment: unknown }, timestamp: string | undefined, picture?: string) => Promise<unknown> {
  return async function toMillis(timestamp, picture) {
    const native = await nativeToMillis;
    if (picture === undefined) return native.call(this, timestamp);
    const budget = budgetOf(this.environment) ?? {
      deadline: Date.now() + defaultTimeoutMs,
      timeoutMs: defaultTimeoutMs,
    };
    return withSandboxedRegExp(budget, () => native.call(this, timestamp, picture));
  };
}
