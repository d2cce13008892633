import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { evaluateExpression } from '../../../lib/domain/expressions.js';

const input = {
  items: [{ x: 1 }, { x: 2 }, { x: 1 }],
  one: [{ x: 3 }],
  objs: [
    { a: 1, b: 2 },
    { b: 2, a: 1 },
  ],
};

// The replacements must answer exactly as JSONata's own built-ins do.
async function original(src: string): Promise<unknown> {
  const value: unknown = await jsonata(src).evaluate(input);
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

describe('safe built-ins', () => {
  it.each([
    '$pad("abc", 6)',
    '$pad("abc", -6, "#")',
    '$pad("abc", 8, "xy")',
    '$pad("abc", 5, "😀")',
    '$pad("😀😀", 4, "-")',
    '$pad("abcdef", 3)',
    '$pad("abc", 2.7, "*")',
    '$pad("abc", 0)',
    '$distinct([1, 2, 1, "1", 2])',
    '$distinct(items.x)',
    '$distinct(one.x)',
    '$distinct(items)',
    '$distinct(objs)',
    '$distinct([[1, 2], [1, 2], [2, 1]])',
    '$distinct([])',
    '$distinct(5)',
  ])('%s matches JSONata', async (src) => {
    expect(await evaluateExpression(src, input)).toEqual(await original(src));
  });

  it('refuses a huge $pad and stays fast on a big $distinct', async () => {
    await expect(evaluateExpression('$pad("", 300000000)', input)).rejects.toMatchObject({
      code: 'EXPRESSION_OUTPUT_TOO_LARGE',
    });
    const started = Date.now();
    expect(await evaluateExpression('$count($distinct([1..100000]))', input)).toBe(100000);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
