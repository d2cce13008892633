#!/usr/bin/env node
/**
 * `npm run profile` — runs the bench's e2e-throughput case alone under the V8 CPU
 * profiler and prints where the time went.
 *
 *   npm run profile                      quick size (100 runs), CPU profile
 *   npm run profile -- --full            the full case (1,000 runs)
 *   npm run profile -- --heap            also a sampling heap profile (--heap-prof)
 *   npm run profile -- --top=40          longer tables (default 25)
 *   npm run profile -- --case=task-fanout   another bench case
 *   npm run profile -- --summarize=FILE  only print the summary of an existing .cpuprofile
 *
 * Outputs go to bench/out/profile/ (gitignored): the .cpuprofile (open it in Chrome
 * DevTools > Performance, or VS Code), the .heapprofile, the case's results. The
 * summary is computed here from the profile's JSON: self time per function, per
 * file and per package, and the heap profile's allocations per function.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'bench', 'out', 'profile');

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name, dflt) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const TOP = Number(opt('top', '25'));

/** A readable location: repo-relative for ours, `pkg/...` for dependencies, `node:` for built-ins. */
function shortUrl(url) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(ROOT)) u = u.slice(ROOT.length + 1);
  return u;
}

/** The package (or our top folder) a location belongs to. */
function packageOf(url) {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node: built-ins';
  const s = shortUrl(url);
  if (url.includes('/node_modules/')) {
    const parts = s.split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? s);
  }
  const parts = s.split('/');
  return parts.length > 1 ? `${parts[0]}/${parts.length > 2 ? `${parts[1]}/` : ''}` : s;
}

function table(title, rows, total) {
  console.log(`\n${title}`);
  console.log(`${'self ms'.padStart(9)} ${'%'.padStart(6)}  what`);
  for (const [k, v] of rows.slice(0, TOP))
    console.log(`${v.toFixed(0).padStart(9)} ${((100 * v) / total).toFixed(1).padStart(6)}  ${k}`);
}

const sortDesc = (m) => [...m].sort((a, b) => b[1] - a[1]);
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);

export async function summarizeCpu(file) {
  const prof = JSON.parse(await readFile(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) add(self, prof.samples[i], (prof.timeDeltas[i] ?? 0) / 1000);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map();
  const byFile = new Map();
  const byPkg = new Map();
  let idle = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') idle += ms;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    add(byFn, where ? `${name}  ${where}` : name, ms);
    add(byFile, url ? shortUrl(url) : name, ms);
    add(byPkg, url ? packageOf(url) : name.startsWith('(') ? name : '(native / V8)', ms);
  }
  console.log(`\nCPU profile ${path.relative(ROOT, file)}`);
  console.log(
    `  ${(total / 1000).toFixed(1)} s sampled, ${((total - idle) / 1000).toFixed(1)} s on CPU (${((100 * (total - idle)) / total).toFixed(0)} %), ${(idle / 1000).toFixed(1)} s idle (waiting on I/O)`,
  );
  const busy = total - idle;
  table(
    'Top functions by self time (% of on-CPU time)',
    sortDesc(byFn).filter(([k]) => !k.startsWith('(idle)')),
    busy,
  );
  table(
    'Top files by self time',
    sortDesc(byFile).filter(([k]) => k !== '(idle)'),
    busy,
  );
  table(
    'By package / folder',
    sortDesc(byPkg).filter(([k]) => k !== '(idle)'),
    busy,
  );
}

export async function summarizeHeap(file) {
  const prof = JSON.parse(await readFile(file, 'utf8'));
  const byFn = new Map();
  const byPkg = new Map();
  const walk = (n) => {
    const { functionName, url, lineNumber } = n.callFrame;
    if (n.selfSize > 0) {
      add(byFn, `${functionName || '(anonymous)'}  ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`, n.selfSize);
      add(byPkg, url ? packageOf(url) : '(native / V8)', n.selfSize);
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk(prof.head);
  const total = [...byFn.values()].reduce((a, b) => a + b, 0);
  const kb = (m) => new Map([...m].map(([k, v]) => [k, v / 1024]));
  console.log(
    `\nHeap profile ${path.relative(ROOT, file)} (sampled allocations still live at the end: ${(total / 1024 / 1024).toFixed(1)} MB)`,
  );
  const t = (title, m) => {
    console.log(`\n${title}`);
    for (const [k, v] of sortDesc(kb(m)).slice(0, TOP))
      console.log(`${v.toFixed(0).padStart(9)} KB ${((100 * v * 1024) / total).toFixed(1).padStart(6)} %  ${k}`);
  };
  t('Top allocation sites', byFn);
  t('By package / folder', byPkg);
}

async function newest(dir, ext) {
  const files = (await readdir(dir)).filter((f) => f.endsWith(ext));
  const withSize = await Promise.all(files.map(async (f) => ({ f, s: (await stat(path.join(dir, f))).size })));
  // The main thread's profile is the largest (tsx's loader thread writes a small one too).
  withSize.sort((a, b) => b.s - a.s);
  return withSize[0] ? path.join(dir, withSize[0].f) : undefined;
}

async function main() {
  const only = opt('summarize', undefined);
  if (only) {
    await (only.endsWith('.heapprofile') ? summarizeHeap(only) : summarizeCpu(only));
    return;
  }
  const bench = opt('case', 'e2e-throughput');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(OUT, stamp);
  await mkdir(dir, { recursive: true });
  const nodeArgs = [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    ...(flag('heap') ? ['--heap-prof', `--heap-prof-dir=${dir}`] : []),
    '--import',
    'tsx',
    path.join('bench', 'run.ts'),
    `--only=${bench}`,
    ...(flag('full') ? [] : ['--quick']),
    `--out=${path.join(dir, 'results')}`,
  ];
  console.log(`node ${nodeArgs.join(' ')}`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: 'inherit' });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const cpu = await newest(dir, '.cpuprofile');
  if (!cpu) throw new Error(`no .cpuprofile in ${dir} (bench exited ${code})`);
  // Keep only the main thread's profiles.
  for (const f of await readdir(dir)) {
    const p = path.join(dir, f);
    if (f.endsWith('.cpuprofile') && p !== cpu) await rm(p);
  }
  await summarizeCpu(cpu);
  const heap = flag('heap') ? await newest(dir, '.heapprofile') : undefined;
  if (heap) await summarizeHeap(heap);
  console.log(
    `\nCPU profile: ${cpu}${heap ? `\nheap profile: ${heap}` : ''}\ncase results: ${path.join(dir, 'results')}`,
  );
  process.exitCode = code;
}

await main();
