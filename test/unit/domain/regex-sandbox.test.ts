import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { evaluateExpression } from '../../../lib/domain/expressions.js';
import { sandboxStarts } from '../../../lib/domain/regex-sandbox.js';

/** JSONata's own result, without the sandbox (for patterns that finish). */
async function native(expr: string, input: unknown = {}): Promise<unknown> {
  return JSON.parse(JSON.stringify((await jsonata(expr).evaluate(input)) ?? null)) as unknown;
}

const SAME_AS_JSONATA = [
  '$match("from 10.0.0.1 to 192.168.7.42", /(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)/)',
  '$match("aXbXc", /x/i)',
  '$match("one two  three", /(\\w+)(\\s*)/, 2)',
  '$contains("SHA256 " & $join([1..32].("ab"), ""), /sha256 [a-f0-9]{64}/i)',
  '$contains("abc", /^b/)',
  '$contains("a\\nb", /^b/m)',
  '$split("a1b22c333d", /[0-9]+/)',
  '$split("a1b22c333d", /[0-9]+/, 2)',
  '$replace("John Smith and John Jones", /John (\\w+)/, "Mr $1")',
  '$replace("abcabc", /(b)/, function($m) { $uppercase($m.groups[0]) })',
  '$replace("aaa", /a/, "b", 2)',
  '"abc" ~> /b/',
  '$match("abab", /(?<=a)b/)',
  '$match("abab", /a(?=b)/)',
  '$match("aa bb cc", /(\\w)\\1/)',
  '$string($match($join([1..3000].("k" & $string($) & " "), ""), /k(\\d+)/).groups)',
  '$toMillis("2024-01-15T10:30:00Z")',
  '$toMillis("15 January 2024", "[D] [MNn] [Y]")',
  '$toMillis("20240115103000", "[Y0001][M01][D01][H01][m01][s01]")',
];

describe('regular expressions in the sandbox', () => {
  it.each(SAME_AS_JSONATA)("%s gives JSONata's own result", async (expr) => {
    // A generous budget: the point is the result, also for the 3,000-match case on a busy machine.
    expect(await evaluateExpression(expr, {}, { timeoutMs: 10_000 })).toEqual(await native(expr));
  });

  it('a zero-length global match fails as in JSONata (D1004)', async () => {
    await expect(evaluateExpression('$match("abc", /x*/)', {})).rejects.toMatchObject({
      code: 'EXPRESSION_FAILED',
      jsonataCode: 'D1004',
    });
  });

  it.each([
    ['backreference', `$match("${'a'.repeat(40)}!", /^(a+)+$|\\1/)`],
    ['lookahead', `$contains("${'a'.repeat(40)}!", /^(?=(a+)+$)/)`],
    ['case-insensitive', `$match("${'a'.repeat(40)}!", /^(a+)+$/i)`],
    ['nested quantifier', `$replace($pad("", 50000, "a") & "!", /(a|aa)+$/, "b")`],
    ['eval', `$eval('$match("${'a'.repeat(40)}!", /^(a|a)+$/)')`],
    ['regex built in a lambda', `($f := function($s) { $s ~> /^(a+)+$/ }; $f("${'a'.repeat(40)}!"))`],
    ['$toMillis picture', `$toMillis($pad("", 200, "a") & "!", "[FNn][FNn][FNn][FNn][FNn][FNn][FNn][FNn]")`],
  ])('%s: EXPRESSION_TIMEOUT at the deadline, and the next regex works', async (_name, expr) => {
    await evaluateExpression('$contains("a", /a/)', {}); // a worker is running
    const before = sandboxStarts();
    await expect(evaluateExpression(expr, {}, { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'EXPRESSION_TIMEOUT',
    });
    expect(await evaluateExpression('$match("x42", /\\d+/).match', {})).toBe('42');
    // The stuck worker was terminated; the next match ran in a new one.
    expect(sandboxStarts()).toBe(before + 1);
  });

  it('each evaluation has its own deadline, also when evaluations of one expression interleave', async () => {
    const expr = '$match(s, /^(a+)+$/)';
    const hostile = evaluateExpression(expr, { s: `${'a'.repeat(40)}!` }, { timeoutMs: 100 });
    // A long budget: were the engines shared, the hostile match would wait for it (past the test timeout).
    const fine = evaluateExpression(expr, { s: 'aaaa' }, { timeoutMs: 60_000 });
    await expect(hostile).rejects.toMatchObject({ code: 'EXPRESSION_TIMEOUT' });
    expect(await fine).toMatchObject({ match: 'aaaa' });
  });
});
