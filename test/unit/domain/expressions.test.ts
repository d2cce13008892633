import { describe, expect, it } from 'vitest';
import {
  compileExpression,
  ExpressionError,
  evaluateExpression,
  expressionCacheSize,
} from '../../../lib/domain/expressions.js';

const context = {
  alert: { src_ip: '10.0.0.1', items: [1, 2, 3] },
  tasks: { lookup: { status: 'succeeded', output: { body: { score: 91 } }, error: null } },
  execution: { peid: 'e1', tenant_code: 'acme' },
};

async function failure(promise: Promise<unknown>): Promise<ExpressionError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ExpressionError);
    return err as ExpressionError;
  }
  throw new Error('expected an ExpressionError');
}

describe('compileExpression', () => {
  it('reports syntax errors with position', () => {
    let caught: unknown;
    try {
      compileExpression('alert.x >');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ExpressionError);
    expect((caught as ExpressionError).code).toBe('EXPRESSION_SYNTAX');
    expect((caught as ExpressionError).position).toBeTypeOf('number');
  });

  it('turns parser stack exhaustion into a syntax error', () => {
    expect(() => compileExpression('('.repeat(16_000))).toThrow(ExpressionError);
  });

  it('caches compiled expressions, bounded', () => {
    expect(compileExpression('alert.src_ip')).toBe(compileExpression('alert.src_ip'));
    for (let i = 0; i < 600; i += 1) compileExpression(`${i} + 1`);
    expect(expressionCacheSize()).toBeLessThanOrEqual(500);
  });
});

describe('evaluateExpression', () => {
  it('evaluates against the context', async () => {
    expect(await evaluateExpression('tasks.lookup.output.body.score > 80', context)).toBe(true);
    expect(await evaluateExpression('$sum(alert.items)', context)).toBe(6);
    expect(await evaluateExpression('{"ip": alert.src_ip}', context)).toEqual({ ip: '10.0.0.1' });
    expect(await evaluateExpression('alert.missing', context)).toBeUndefined();
    expect(await evaluateExpression('function($x){$x}', context)).toBeUndefined();
    expect(await evaluateExpression('{"f": function($x){$x}, "n": 1}', context)).toEqual({ n: 1 });
    expect(await evaluateExpression('$substringBefore(?, "x")', context)).toBeUndefined();
  });

  it('returns plain JSON, not JSONata sequences', async () => {
    const value = await evaluateExpression('alert.items.($ * 2)', context);
    expect(value).toEqual([2, 4, 6]);
    expect(Object.keys(value as object)).toEqual(['0', '1', '2']);
  });

  it('reports runtime errors as EXPRESSION_FAILED', async () => {
    const err = await failure(evaluateExpression('"a" + 1', context));
    expect(err.code).toBe('EXPRESSION_FAILED');
    expect(err.jsonataCode).toBe('T2001');
  });

  it.each([
    '[1..10000000]',
    '$map([1..1000000], function($x){$x})',
    '($f := function($n){$f($n+1)}; $f(0))',
    '($f := function($n){1 + $f($n+1)}; $f(0))',
    '$map([1..99999], function($x){$x})',
    '[1..90000].[1..90000]',
    '$reduce([1..40], function($a, $b){$a & $a}, "xxxxxxxx")',
    '$eval("($f := function($n){$f($n+1)}; $f(0))")',
    '($__limits := 0; $f := function($n){$f($n+1)}; $f(0))',
  ])('bounds the hostile expression %s', async (src) => {
    const started = Date.now();
    const err = await failure(evaluateExpression(src, context));
    expect(['EXPRESSION_TIMEOUT', 'EXPRESSION_TOO_DEEP', 'EXPRESSION_OUTPUT_TOO_LARGE']).toContain(err.code);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out a long loop at the configured limit', async () => {
    const started = Date.now();
    const err = await failure(evaluateExpression('$map([1..99999], function($x){$x})', context, { timeoutMs: 50 }));
    expect(err.code).toBe('EXPRESSION_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('honours a shared absolute deadline', async () => {
    const err = await failure(evaluateExpression('alert.src_ip', context, { deadline: Date.now() - 1 }));
    expect(err.code).toBe('EXPRESSION_TIMEOUT');
  });

  it('stops unbounded recursion by depth', async () => {
    const err = await failure(evaluateExpression('($f := function($n){1 + $f($n+1)}; $f(0))', context));
    expect(err.code).toBe('EXPRESSION_TOO_DEEP');
  });

  it('limits the output size', async () => {
    const err = await failure(evaluateExpression('$pad("", 70000, "x")', context));
    expect(err.code).toBe('EXPRESSION_OUTPUT_TOO_LARGE');
    const small = await failure(evaluateExpression('[1..100]', context, { maxOutputBytes: 50 }));
    expect(small.code).toBe('EXPRESSION_OUTPUT_TOO_LARGE');
    expect(await evaluateExpression('$pad("", 1000, "x")', context)).toHaveLength(1000);
  });

  it('keeps concurrent evaluations of one cached expression independent', async () => {
    const src = '$sum($map([1..2000], function($x){$x * n}))';
    const inputs = Array.from({ length: 20 }, (_, n) => ({ n }));
    const results = await Promise.all(inputs.map((input) => evaluateExpression(src, input, { timeoutMs: 5000 })));
    expect(results).toEqual(inputs.map(({ n }) => n * 2001000));

    // A hostile evaluation timing out must not disturb a concurrent harmless one.
    const [slow, fast] = await Promise.allSettled([
      evaluateExpression('($f := function($n){$f($n+1)}; $f(0))', {}, { timeoutMs: 100 }),
      evaluateExpression('$sum($map([1..3000], function($x){$x}))', {}, { timeoutMs: 5000 }),
    ]);
    expect(slow.status).toBe('rejected');
    expect(fast).toEqual({ status: 'fulfilled', value: 4501500 });
  });
});
