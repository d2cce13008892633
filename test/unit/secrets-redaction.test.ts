/** Integration secrets: which names a config references, and their redaction from anything stored. */
import { describe, expect, it } from 'vitest';
import { REDACTED, redactionNeedles, redactSecrets, redactText } from '../../lib/domain/redact.js';
import { secretRefs } from '../../lib/domain/secret-refs.js';

describe('secretRefs', () => {
  it('lists the secret names referenced by the templates of a config, once each, sorted', () => {
    const config = {
      method: 'POST',
      url: 'https://intel.example/{{ secrets.TENANT_PATH }}/x',
      headers: { authorization: 'Bearer {{ secrets.INTEL_TOKEN }}', 'x-other': '{{ $lowercase(secrets.API_KEY) }}' },
      body: { nested: ['{{ secrets.INTEL_TOKEN & "-" & secrets . SPACED }}'] },
    };
    expect(secretRefs(config)).toEqual(['API_KEY', 'INTEL_TOKEN', 'SPACED', 'TENANT_PATH']);
  });

  it('ignores text outside templates, other paths that merely contain the word, and broken templates', () => {
    expect(secretRefs({ url: 'https://x.example/secrets.NOT_A_TEMPLATE' })).toEqual([]);
    expect(secretRefs({ url: '{{ alert.secrets.X }}' })).toEqual([]);
    expect(secretRefs({ url: '{{ mysecrets.X }}' })).toEqual([]);
    expect(secretRefs({ url: '{{ secrets.X' })).toEqual([]);
    expect(secretRefs(null)).toEqual([]);
  });
});

describe('redactSecrets', () => {
  const secret = 'tok"en\\with/special chars&=';

  it('replaces every occurrence, as-is, JSON-escaped and URL-encoded, in strings and keys', () => {
    const value = {
      headers: { authorization: `Bearer ${secret}` },
      echoed: JSON.stringify({ token: secret }),
      url: `https://x.example/?k=${encodeURIComponent(secret)}`,
      [secret]: 'as a key',
      list: [secret, 1, null, true, { deeper: `${secret}${secret}` }],
    };
    const out = redactSecrets(value, [secret]);
    const text = JSON.stringify(out);
    for (const form of redactionNeedles([secret])) expect(text.includes(form)).toBe(false);
    expect(out.headers.authorization).toBe(`Bearer ${REDACTED}`);
    expect(out.list[0]).toBe(REDACTED);
    expect(out.list[4]).toEqual({ deeper: `${REDACTED}${REDACTED}` });
    expect(Object.keys(out)).toContain(REDACTED);
    // The input is left as it was.
    expect(value.headers.authorization).toBe(`Bearer ${secret}`);
  });

  it('keeps "__proto__" keys as data and survives values nested 100,000 levels deep', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": "s3cret"}}') as Record<string, unknown>;
    const out = redactSecrets(hostile, ['s3cret']) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ polluted: REDACTED });

    let deep: unknown = 's3cret';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    let node = redactSecrets(deep, ['s3cret']);
    for (let i = 0; i < 100_000; i++) node = (node as unknown[])[0];
    expect(node).toBe(REDACTED);
  });

  it('changes nothing without secrets, and ignores empty ones', () => {
    const value = { a: 'x' };
    expect(redactSecrets(value, [])).toBe(value);
    expect(redactSecrets(value, [''])).toBe(value);
    expect(redactText('abc', redactionNeedles(['b']))).toBe(`a${REDACTED}c`);
    expect(redactSecrets(42, ['4'])).toBe(42);
  });
});
