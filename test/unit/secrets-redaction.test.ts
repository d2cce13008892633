/** Integration secrets: which names a config references, and their redaction from anything stored. */
import { describe, expect, it } from 'vitest';
import { REDACTED, redactionNeedles, redactSecrets, redactText } from '../../lib/domain/redact.js';
import {
  directSecretUse,
  encodeSecret,
  readsSecrets,
  secretRefs,
  secretTemplateIssues,
} from '../../lib/domain/secret-refs.js';

describe('secretRefs', () => {
  it('lists the secret names an http config uses directly, once each, sorted', () => {
    const config = {
      method: 'POST',
      url: 'https://intel.example/{{ secrets.TENANT_PATH }}/x?k={{ $encodeUrlComponent(secrets.QUERY_KEY) }}',
      headers: { authorization: 'Bearer {{ secrets.INTEL_TOKEN }}', 'x-other': '{{ secrets . SPACED }}' },
      body: { nested: ['{{ secrets.INTEL_TOKEN }}'], indirect: '{{ $lowercase(secrets.NOT_RESOLVED) }}' },
    };
    expect(secretRefs(config)).toEqual(['INTEL_TOKEN', 'QUERY_KEY', 'SPACED', 'TENANT_PATH']);
  });

  it('ignores text outside templates, other paths that merely contain the word, and broken templates', () => {
    expect(secretRefs({ url: 'https://x.example/secrets.NOT_A_TEMPLATE' })).toEqual([]);
    expect(secretRefs({ url: '{{ alert.secrets.X }}' })).toEqual([]);
    expect(secretRefs({ url: '{{ mysecrets.X }}' })).toEqual([]);
    expect(secretRefs({ url: '{{ secrets.X' })).toEqual([]);
    expect(secretRefs(null)).toEqual([]);
  });
});

describe('direct secret uses', () => {
  it('are a whole template expression: the name, or the name URL-encoded by $encodeUrlComponent / $encodeUrl', () => {
    expect(directSecretUse(' secrets.TOKEN ')).toEqual({ name: 'TOKEN', encoding: 'raw' });
    expect(directSecretUse('$encodeUrlComponent( secrets.K )')).toEqual({ name: 'K', encoding: 'url-component' });
    expect(directSecretUse('$encodeUrl(secrets.K)')).toEqual({ name: 'K', encoding: 'url' });
    for (const e of [
      '$base64encode(secrets.K)',
      'secrets.K & "x"',
      'secrets',
      'secrets.K.x',
      '$.secrets.K',
      'x.secrets.K',
    ])
      expect(directSecretUse(e), e).toBeUndefined();
    expect(encodeSecret('a b/c', 'url-component')).toBe('a%20b%2Fc');
    expect(encodeSecret('a b/c', 'url')).toBe('a%20b/c');
  });

  it('anything else reading `secrets` is an issue naming the field; other fields are fine', () => {
    expect(readsSecrets('$base64encode(secrets.K)')).toBe(true);
    expect(readsSecrets('$$.secrets.K')).toBe(true);
    expect(readsSecrets('[secrets]')).toBe(true);
    expect(readsSecrets('alert.secrets.K')).toBe(false);
    expect(readsSecrets('"secrets.K"')).toBe(false);
    expect(readsSecrets('((( broken')).toBe(false);
    const http = {
      url: 'https://x.example/{{ secrets.OK }}',
      headers: { a: 'Basic {{ $base64encode(secrets.K) }}', b: 'Bearer {{ secrets.OK }}' },
      body: { deep: [{ c: '{{ $substring(secrets.K, 0, 2) }}' }] },
    };
    expect(secretTemplateIssues(http, 'tasks[0].config', true).map((i) => i.path)).toEqual([
      'tasks[0].config.headers.a',
      'tasks[0].config.body.deep[0].c',
    ]);
    // Outside an http config even a direct use is refused.
    expect(secretTemplateIssues({ alert: { k: '{{ secrets.OK }}' } }, 'tasks[1].config', false)).toEqual([
      { path: 'tasks[1].config.alert.k', message: expect.stringContaining('only available') },
    ]);
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

  it('also redacts the base64 and base64url forms an integration may echo', () => {
    const token = 'sk-live-1234567890?';
    const b64 = Buffer.from(token).toString('base64');
    const out = redactSecrets(
      { a: b64, b: b64.replace(/=+$/, ''), c: Buffer.from(token).toString('base64url'), d: encodeURI(token) },
      [token],
    );
    expect(out).toEqual({ a: REDACTED, b: REDACTED, c: REDACTED, d: REDACTED });
  });

  it('changes nothing without secrets, and ignores empty ones', () => {
    const value = { a: 'x' };
    expect(redactSecrets(value, [])).toBe(value);
    expect(redactSecrets(value, [''])).toBe(value);
    expect(redactText('abc', redactionNeedles(['b']))).toBe(`a${REDACTED}c`);
    expect(redactSecrets(42, ['4'])).toBe(42);
  });
});
