/**
 * README.md and docs/*.md point only at what exists: every relative link resolves to a file (and,
 * for a Markdown target, to one of its headings), every `npm run <script>` names a script of
 * package.json, and every repository path quoted in code (`lib/...`, `test/...`, `scripts/...`)
 * exists (the README's layout table included).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DOCS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = read(file).replace(/```[\s\S]*?```/g, '');
  return new Set(
    text
      .split('\n')
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) => slug(l.replace(/^#+ /, ''))),
  );
}

/** The text outside fenced code blocks (links inside them are examples, not links). */
const prose = (text: string) => text.replace(/```[\s\S]*?```/g, '');

describe('README.md and docs/', () => {
  it('finds the documents', () => {
    expect(DOCS).toContain('docs/architecture.md');
    expect(DOCS.length).toBeGreaterThan(10);
  });

  it.each(DOCS)('%s: every relative link resolves, anchors included', (file) => {
    const broken: string[] = [];
    for (const m of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1] ?? '';
      if (/^[a-z]+:/i.test(href)) continue;
      const [target = '', anchor] = href.split('#');
      const resolved = target === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
      if (!existsSync(path.join(ROOT, resolved))) {
        broken.push(`${href}: no file ${resolved}`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) {
        broken.push(`${href}: no heading #${anchor} in ${resolved}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it.each(DOCS)('%s: every `npm run` names a script of package.json', (file) => {
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts as Record<string, string>);
    const named = [...read(file).matchAll(/npm run (?:-s )?([a-z][\w:-]*)/g)].map((m) => m[1] ?? '');
    expect(named.filter((n) => !scripts.includes(n))).toEqual([]);
  });

  it.each(DOCS)('%s: every repository path in code exists', (file) => {
    const lines = read(file).split('\n');
    const paths = lines
      .flatMap((l) => [...l.matchAll(/`([^`\s]+)`/g)].map((m) => m[1] ?? ''))
      .filter((p) => /^(\.ci|bench|docs|events|functions|lib|scripts|test|tools)\//.test(p))
      .filter((p) => !/[<>*{}]|\.\.\./.test(p) && !p.startsWith('bench/out/'));
    expect(paths.filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
  });
});
