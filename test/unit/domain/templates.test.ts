import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../lib/domain/expressions.js';
import {
  collectTemplateErrors,
  findTemplates,
  renderTemplate,
  type TemplateContext,
} from '../../../lib/domain/templates.js';

const context = {
  alert: { src_ip: '10.0.0.1', score: 91, tags: ['a', 'b'], nothing: null },
  tasks: { lookup: { status: 'succeeded', output: { body: { score: 91 } }, error: null } },
  execution: { peid: 'e1', tenant_code: 'acme' },
} satisfies TemplateContext;

describe('findTemplates', () => {
  it('returns inner expressions', () => {
    expect(findTemplates('a {{ alert.x }} b {{y}}')).toEqual([' alert.x ', 'y']);
    expect(findTemplates('plain')).toEqual([]);
  });

  it('skips braces and quotes inside expressions', () => {
    expect(findTemplates('{{ {"a": {"b": 1}} }}')).toEqual([' {"a": {"b": 1}} ']);
    expect(findTemplates('{{ "}}" }}')).toEqual([' "}}" ']);
  });

  it('throws on unbalanced braces', () => {
    expect(() => findTemplates('x {{ alert.id')).toThrow(ExpressionError);
    expect(() => findTemplates('x }} y')).toThrow(/no matching/);
    expect(() => findTemplates('{{ "unterminated }}')).toThrow(/unterminated/);
  });
});

describe('collectTemplateErrors', () => {
  it('names the path of each bad string', () => {
    const issues = collectTemplateErrors(
      { url: 'u/{{ alert.( }}', body: { list: ['ok {{ alert.id }}', '{{ }}', 'x}}'] } },
      'tasks[3].config',
    );
    expect(issues.map((i) => i.path)).toEqual([
      'tasks[3].config.url',
      'tasks[3].config.body.list[1]',
      'tasks[3].config.body.list[2]',
    ]);
  });
});

describe('renderTemplate', () => {
  it('yields the raw value for a string that is exactly one template', async () => {
    expect(await renderTemplate('{{ alert.score }}', context)).toBe(91);
    expect(await renderTemplate('{{alert.tags}}', context)).toEqual(['a', 'b']);
    expect(await renderTemplate('{{ tasks.lookup.output }}', context)).toEqual({ body: { score: 91 } });
    expect(await renderTemplate('{{ alert.missing }}', context)).toBeNull();
  });

  it('interpolates templates inside text', async () => {
    expect(await renderTemplate('https://intel.example/ip/{{ alert.src_ip }}', context)).toBe(
      'https://intel.example/ip/10.0.0.1',
    );
    expect(await renderTemplate('s={{ alert.score }} t={{ alert.tags }} n={{ alert.nothing }}', context)).toBe(
      's=91 t=["a","b"] n=',
    );
    expect(await renderTemplate('[{{ alert.missing }}]', context)).toBe('[]');
    expect(await renderTemplate(' {{ alert.score }}', context)).toBe(' 91');
  });

  it('renders nested objects and arrays, leaving other values alone', async () => {
    const rendered = await renderTemplate(
      {
        ip: '{{ alert.src_ip }}',
        meta: { peid: '{{ execution.peid }}', list: [1, true, null, '{{ alert.score + 1 }}'] },
        plain: 'no templates',
      },
      context,
    );
    expect(rendered).toEqual({
      ip: '10.0.0.1',
      meta: { peid: 'e1', list: [1, true, null, 92] },
      plain: 'no templates',
    });
  });

  it('keeps a __proto__ key as data', async () => {
    const input = JSON.parse('{"__proto__": {"polluted": "{{ alert.src_ip }}"}}') as unknown;
    const rendered = (await renderTemplate(input, context)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(rendered)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(rendered, '__proto__')?.value).toEqual({ polluted: '10.0.0.1' });
  });

  it('fails with an ExpressionError on bad or hostile templates', async () => {
    await expect(renderTemplate({ a: '{{ "a" + 1 }}' }, context)).rejects.toMatchObject({ code: 'EXPRESSION_FAILED' });
    await expect(renderTemplate('{{ ($f := function($n){$f($n+1)}; $f(0)) }}', context)).rejects.toBeInstanceOf(
      ExpressionError,
    );
  });

  it('bounds the total size of rendered output', async () => {
    const value = Array.from({ length: 40 }, () => '{{ $pad("", 60000, "x") }}');
    await expect(renderTemplate(value, context)).rejects.toMatchObject({ code: 'EXPRESSION_OUTPUT_TOO_LARGE' });
  });
});
