import { describe, expect, it } from 'vitest';
import { MAX_INPUT_JSON_DEPTH, parseJsonWithin, tooDeepAt } from '../../../lib/domain/json-value.js';
import { storable } from '../../../lib/engine/run-task.js';

const nestedArrays = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

describe('tooDeepAt', () => {
  it('accepts values nested exactly to the bound and names the first container beyond it', () => {
    expect(tooDeepAt(JSON.parse(nestedArrays(MAX_INPUT_JSON_DEPTH)))).toBeUndefined();
    expect(tooDeepAt(JSON.parse(nestedArrays(MAX_INPUT_JSON_DEPTH + 1)))).toEqual(
      Array.from({ length: MAX_INPUT_JSON_DEPTH }, () => 0),
    );
    expect(tooDeepAt({ a: 1, b: [{ c: { d: [] } }] }, 3)).toEqual(['b', 0, 'c']);
    expect(tooDeepAt({ a: 1, b: [{ c: 2 }] }, 3)).toBeUndefined();
    expect(tooDeepAt('text', 0)).toBeUndefined();
    expect(tooDeepAt({}, 0)).toEqual([]);
  });

  it('walks 1,000,000 levels without recursion', () => {
    const value = JSON.parse(nestedArrays(1_000_000)) as unknown;
    expect(tooDeepAt(value)).toHaveLength(MAX_INPUT_JSON_DEPTH);
  });
});

describe('parseJsonWithin', () => {
  it('parses bounded JSON, reports syntax errors and too-deep values as outcomes, never throws', () => {
    expect(parseJsonWithin('{"a":[1,2,{"b":null}]}')).toEqual({ ok: true, value: { a: [1, 2, { b: null }] } });
    expect(parseJsonWithin('{"a":')).toMatchObject({ ok: false, reason: 'syntax' });
    // ~10 KB that JSON.parse accepts and JSON.stringify cannot serialize on a main thread.
    expect(parseJsonWithin(nestedArrays(5_000))).toMatchObject({
      ok: false,
      reason: 'depth',
      message: `nested deeper than ${MAX_INPUT_JSON_DEPTH} levels`,
    });
    expect(parseJsonWithin(nestedArrays(10), 10)).toMatchObject({ ok: true });
    expect(parseJsonWithin(nestedArrays(11), 10)).toMatchObject({ ok: false, reason: 'depth' });
  });
});

describe('storable', () => {
  it('serializes an output, and turns one that cannot be serialized into a failure of its task', () => {
    const ok = { status: 'succeeded' as const, output: { a: 1 }, error: null, retryable: false };
    expect(storable(ok, 1024)).toEqual({ outcome: ok, stored: { output_json: '{"a":1}', truncated: false } });
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    const bad = storable({ ...ok, output: deep }, 1024);
    expect(bad.outcome).toMatchObject({ status: 'failed', retryable: false, error: { code: 'OUTPUT_INVALID' } });
    expect(bad.stored).toEqual({ output_json: 'null', truncated: false });
  });
});
