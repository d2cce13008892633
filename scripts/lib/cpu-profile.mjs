/**
 * Summaries of V8 .cpuprofile files for `npm run profile` (scripts/profile.mjs): self time per
 * function, per file and per package, several profiles merged (the bench's container processes).
 * Frames in a bundle (the containers run esbuild bundles, minified) are mapped back to their
 * sources through the bundle's .map with node:module's SourceMap, so they read as lib/..., functions/...
 * or a package, like the unbundled bench process's.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A readable location: repo-relative for ours, `pkg/...` for dependencies, `node:` for built-ins. */
export function shortUrl(url, root) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(root)) u = u.slice(root.length + 1);
  return u;
}

/** The package (or our top folder) a location belongs to. */
export function packageOf(url, root) {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node: built-ins';
  const s = shortUrl(url, root);
  if (url.includes('/node_modules/')) {
    const parts = s.split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? s);
  }
  const parts = s.split('/');
  return parts.length > 1 ? `${parts[0]}/${parts.length > 2 ? `${parts[1]}/` : ''}` : s;
}

/** The product's own code: functions/ and lib/ of this repository. */
export function isProductUrl(url, root) {
  if (!url || url.includes('/node_modules/')) return false;
  const s = shortUrl(url, root);
  return s.startsWith('lib/') || s.startsWith('functions/');
}

/**
 * The name of the function whose source starts on `line`: `function NAME`, `NAME = (...) =>`,
 * a method `NAME(...) {`, a property `NAME: (...) =>`; undefined for an anonymous one.
 */
export function functionNameIn(line) {
  const patterns = [
    /\bfunction\s*\*?\s*([A-Za-z_$][\w$]*)/,
    /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?(?:function\b|\(|[A-Za-z_$][\w$]*\s*=>)/,
    /^\s*(?:(?:public|private|protected|static|async|get|set)\s+)*\*?\s*([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\([^)]*\)?\s*(?::[^={]*)?\{?\s*$/,
    /([A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s*)?(?:function\b|\([^)]*\)\s*(?::[^=]*)?=>)/,
  ];
  for (const p of patterns) {
    const m = p.exec(line);
    if (m?.[1] && !['if', 'for', 'while', 'switch', 'catch', 'return'].includes(m[1])) return m[1];
  }
  return undefined;
}

/**
 * Maps a frame of a bundle with a .map beside it to its source (url as file://, 0-based line) and
 * names it from the source line (a minified bundle's own names are one to three letters); frames
 * of other files pass through. Maps are read once per bundle.
 */
export function sourceMapResolver() {
  const maps = new Map();
  const mapOf = (url) => {
    if (!maps.has(url)) {
      let sm = null;
      try {
        const file = fileURLToPath(url);
        const payload = JSON.parse(readFileSync(`${file}.map`, 'utf8'));
        sm = { dir: path.dirname(file), map: new SourceMap(payload), payload, lines: new Map() };
      } catch {
        sm = null;
      }
      maps.set(url, sm);
    }
    return maps.get(url);
  };
  const sourceLine = (sm, source, line) => {
    if (!sm.lines.has(source)) {
      const i = sm.payload.sources.indexOf(source);
      sm.lines.set(source, (sm.payload.sourcesContent?.[i] ?? '').split('\n'));
    }
    return sm.lines.get(source)[line] ?? '';
  };
  return (frame) => {
    const { url, lineNumber, columnNumber, functionName } = frame;
    if (!url?.startsWith('file://') || !url.endsWith('.mjs')) return { name: functionName, url, line: lineNumber };
    const sm = mapOf(url);
    const hit = sm?.map.findEntry(lineNumber, columnNumber);
    if (!hit?.originalSource) return { name: functionName, url, line: lineNumber };
    const source = `file://${path.resolve(sm.dir, hit.originalSource)}`;
    const name =
      functionName && functionName.length > 3
        ? functionName
        : (functionNameIn(sourceLine(sm, hit.originalSource, hit.originalLine)) ?? '(anonymous)');
    return { name, url: source, line: hit.originalLine };
  };
}

const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);

/** Self time (ms) of every frame of `files`, merged: by function, file and package; idle apart. */
export async function selfTimes(files, root) {
  const resolve = sourceMapResolver();
  const out = { byFn: new Map(), byFile: new Map(), byPkg: new Map(), product: new Map(), idle: 0, total: 0 };
  for (const file of files) {
    const prof = JSON.parse(await readFile(file, 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    // The profiler's own work (a container stopping it through node:inspector writes the profile) is left out.
    const profiler = new Set();
    const mark = (n, inside) => {
      const here = inside || n.callFrame.url === 'node:inspector';
      if (here) profiler.add(n.id);
      for (const c of n.children ?? []) mark(byId.get(c), here);
    };
    const children = new Set(prof.nodes.flatMap((n) => n.children ?? []));
    for (const n of prof.nodes) if (!children.has(n.id)) mark(n, false);
    const self = new Map();
    for (let i = 0; i < prof.samples.length; i++) add(self, prof.samples[i], (prof.timeDeltas[i] ?? 0) / 1000);
    for (const [id, ms] of self) {
      if (profiler.has(id)) continue;
      const frame = byId.get(id).callFrame;
      const { name: rawName, url, line } = resolve(frame);
      const name = rawName || '(anonymous)';
      out.total += ms;
      if (name === '(idle)') {
        out.idle += ms;
        continue;
      }
      const where = url ? `${shortUrl(url, root)}:${line + 1}` : '';
      const fn = where ? `${name}  ${where}` : name;
      add(out.byFn, fn, ms);
      add(out.byFile, url ? shortUrl(url, root) : name, ms);
      add(out.byPkg, url ? packageOf(url, root) : name.startsWith('(') ? name : '(native / V8)', ms);
      if (isProductUrl(url, root)) add(out.product, fn, ms);
    }
  }
  return out;
}

const sortDesc = (m) => [...m].sort((a, b) => b[1] - a[1]);

export function table(title, map, total, top) {
  console.log(`\n${title}`);
  console.log(`${'self ms'.padStart(9)} ${'%'.padStart(6)}  what`);
  for (const [k, v] of sortDesc(map).slice(0, top))
    console.log(`${v.toFixed(0).padStart(9)} ${((100 * v) / total).toFixed(1).padStart(6)}  ${k}`);
}

/** Prints the summary of `files` (one process, or several of one kind merged). */
export async function printCpuSummary(title, files, root, top, { full = true } = {}) {
  const t = await selfTimes(files, root);
  const busy = t.total - t.idle;
  const productMs = [...t.product.values()].reduce((a, b) => a + b, 0);
  console.log(`\n=== ${title} ===`);
  console.log(
    `  ${files.length} profile(s): ${(t.total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy, ` +
      `${(t.idle / 1000).toFixed(1)} s idle; the product's own code (lib/, functions/) ${(productMs / 1000).toFixed(2)} s ` +
      `= ${busy > 0 ? ((100 * productMs) / busy).toFixed(1) : '0'} % of busy time`,
  );
  console.log(
    '  (samples are taken on the clock: on a loaded machine "busy" also counts time a process waited for a core, ' +
      'so read the shares; the bench reports CPU time)',
  );
  if (productMs > 0) table("Top functions of the product's own code (self time, % of busy time)", t.product, busy, top);
  table('By package / folder', t.byPkg, busy, top);
  if (full) {
    table('Top functions by self time', t.byFn, busy, top);
    table('Top files by self time', t.byFile, busy, top);
  }
}
