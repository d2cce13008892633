/**
 * The approval page's renderer (lib/http/approval-page.ts): hostile prompts, choices and comments
 * come out as text, never as markup; the page posts to itself, loads nothing and its only style is
 * the one the CSP's hash allows.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CALLBACK_CSP,
  escapeHtml,
  notFoundPage,
  PAGE_HEADERS,
  problemPage,
  questionPage,
  recordedPage,
} from '../../lib/http/approval-page.js';

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' autofocus onfocus='alert(1)",
  '</textarea><script>alert(2)</script>',
  '<style>body{display:none}</style>',
  '<a href="javascript:alert(1)">x</a>',
  '&lt;already&gt; &amp; escaped',
  '<!-- comment --> <![CDATA[ x ]]>',
  '<form action="https://evil.example"><button>go</button></form>',
  '<meta http-equiv="refresh" content="0;url=https://evil.example">',
  '<base href="https://evil.example/">',
];

/** The tags a page may contain: the renderer's own, nothing a value brought in. */
const OWN_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'main',
  'h1',
  'p',
  'b',
  'code',
  'time',
  'div',
  'form',
  'label',
  'textarea',
  'button',
  'dl',
  'dt',
  'dd',
  'i',
  'ul',
  'li',
]);
const OWN_ATTRIBUTES = new Set([
  'lang',
  'charset',
  'name',
  'content',
  'class',
  'datetime',
  'method',
  'for',
  'id',
  'rows',
  'maxlength',
  'type',
  'value',
]);
/** Every attribute name of every tag (a `<` inside a value would be escaped: each `<` starts a real tag). */
const attributesOf = (html: string) =>
  [...html.matchAll(/<[a-zA-Z][^>]*>/g)].flatMap((m) =>
    [...m[0].replace(/"[^"]*"/g, '""').matchAll(/\s([a-zA-Z-]+)(?==|\s|>|\/)/g)].map((a) =>
      (a[1] as string).toLowerCase(),
    ),
  );
const tagsOf = (html: string) =>
  [...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => (m[1] as string).toLowerCase());
const question = (prompt: string, choices: string[]) =>
  questionPage({
    playbook_name: prompt.slice(0, 30),
    task_id: 'approve',
    prompt,
    choices,
    expires_at: 1_900_000_000_000,
  });

describe('approval page', () => {
  it('escapes &, <, >, " and \' (element text and attribute values)', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it.each(HOSTILE)('a hostile prompt, choice or comment stays text: %s', (value) => {
    const pages = [
      question(value, ['approve', value]),
      recordedPage({ prompt: value, answer: { choice: value, by: 'callback', comment: value, at: 0 } }),
      problemPage(400, value, [{ path: value, message: value }]),
    ];
    for (const html of pages) {
      expect(tagsOf(html).filter((t) => !OWN_TAGS.has(t))).toEqual([]);
      expect(html).not.toContain(value);
      expect(html).toContain(escapeHtml(value));
      // Only the renderer's own attributes: no event handler, no style, no link came in with a value.
      expect(attributesOf(html).filter((a) => !OWN_ATTRIBUTES.has(a))).toEqual([]);
      expect((html.match(/<form/g) ?? []).length).toBeLessThanOrEqual(1);
    }
  });

  it('one button per choice, each submitting its own value; a comment box of at most 1,000 characters', () => {
    const html = question('Block 203.0.113.7?', ['approve', 'reject', 'escalate "now"']);
    const buttons = [...html.matchAll(/<button type="submit" name="choice" value="([^"]*)">/g)].map((m) => m[1]);
    expect(buttons).toEqual(['approve', 'reject', 'escalate &quot;now&quot;']);
    expect(html).toContain('<textarea id="comment" name="comment" rows="4" maxlength="1000"></textarea>');
    // Posts to the same URL (no action attribute), form-encoded (the default enctype).
    expect(html).toContain('<form method="post">');
    expect(html).not.toMatch(/action=|enctype=/);
    expect(html).toContain('2030-03-17T17:46:40Z');
  });

  it('loads nothing from elsewhere: no src, href, url() or @import', () => {
    for (const html of [
      question('p', ['a']),
      notFoundPage(),
      recordedPage({ prompt: 'p', answer: { choice: 'a', by: 'callback', comment: null, at: 0 } }),
    ]) {
      expect(html).not.toMatch(/\s(src|href|srcset|action|formaction)=/i);
      expect(html).not.toMatch(/url\(|@import/i);
    }
  });

  it('a strict CSP whose style hash is the inline style sheet; no-store, no-referrer, nosniff, no framing', () => {
    expect(CALLBACK_CSP).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/,
    );
    expect(CALLBACK_CSP).not.toContain('unsafe');
    const html = notFoundPage();
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] as string);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256')
      .update(styles[0] as string, 'utf8')
      .digest('base64');
    expect(CALLBACK_CSP).toContain(`'sha256-${hash}'`);
    expect(PAGE_HEADERS).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    expect(html).toContain('<meta name="referrer" content="no-referrer">');
  });

  it('the recorded page says what was recorded; the 404 page says nothing about why', () => {
    const html = recordedPage({
      prompt: 'Block?',
      answer: { choice: 'reject', by: 'callback', comment: 'too risky', at: 0 },
    });
    expect(html).toContain('<dd>reject</dd>');
    expect(html).toContain('<dd>too risky</dd>');
    expect(recordedPage({ prompt: 'p', answer: { choice: 'a', by: 'callback', comment: null, at: 0 } })).toContain(
      '<i>none</i>',
    );
    expect(notFoundPage()).toContain('This link is not valid');
  });
});
