#!/usr/bin/env node
/**
 * `npm run profile` — runs the bench's e2e-throughput case alone under the V8 CPU profiler and
 * prints where the time went. By default it profiles the case's container shape (the deployed
 * one): the executeTask and runPlaybook container processes each write a profile, and the
 * summary maps their bundled frames back to the sources (lib/, functions/, packages), so the top
 * functions of the product's own code can be read apart from the harness (the bench process).
 *
 *   npm run profile                      quick size (100 runs), CPU profiles of every process
 *   npm run profile -- --full            the full case (1,000 runs)
 *   npm run profile -- --single-process  the case's single-process shape instead (one profile)
 *   npm run profile -- --heap            also a sampling heap profile of the bench process (--heap-prof)
 *   npm run profile -- --top=40          longer tables (default 25)
 *   npm run profile -- --case=task-fanout   another bench case (the bench process only)
 *   npm run profile -- --summarize=FILE_OR_DIR  only print the summary of existing .cpuprofile(s)
 *
 * Outputs go to bench/out/profile/<time>/ (gitignored): the bench process's .cpuprofile, the
 * containers' in children/<function>/ (open any in Chrome DevTools > Performance, or VS Code),
 * the .heapprofile, the case's results.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageOf, printCpuSummary, shortUrl } from './lib/cpu-profile.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'bench', 'out', 'profile');

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name, dflt) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const TOP = Number(opt('top', '25'));

const sortDesc = (m) => [...m].sort((a, b) => b[1] - a[1]);
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);

export async function summarizeHeap(file) {
  const prof = JSON.parse(await readFile(file, 'utf8'));
  const byFn = new Map();
  const byPkg = new Map();
  const walk = (n) => {
    const { functionName, url, lineNumber } = n.callFrame;
    if (n.selfSize > 0) {
      add(
        byFn,
        `${functionName || '(anonymous)'}  ${url ? `${shortUrl(url, ROOT)}:${lineNumber + 1}` : ''}`,
        n.selfSize,
      );
      add(byPkg, url ? packageOf(url, ROOT) : '(native / V8)', n.selfSize);
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

async function filesWith(dir, ext) {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith(ext)).map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

async function newest(dir, ext) {
  const files = await filesWith(dir, ext);
  const withSize = await Promise.all(files.map(async (f) => ({ f, s: (await stat(f)).size })));
  // The main thread's profile is the largest (tsx's loader thread writes a small one too).
  withSize.sort((a, b) => b.s - a.s);
  return withSize[0]?.f;
}

/** The containers' profiles, one summary per function (its containers merged). */
async function summarizeChildren(dir) {
  const fns = await readdir(dir).catch(() => []);
  for (const fn of fns.sort()) {
    const files = await filesWith(path.join(dir, fn), '.cpuprofile');
    if (files.length === 0) continue;
    await printCpuSummary(`${fn} containers (product)`, files, ROOT, TOP);
  }
}

async function main() {
  const only = opt('summarize', undefined);
  if (only) {
    if (only.endsWith('.heapprofile')) return summarizeHeap(only);
    const files = only.endsWith('.cpuprofile') ? [only] : await filesWith(only, '.cpuprofile');
    return printCpuSummary(path.relative(ROOT, path.resolve(only)), files, ROOT, TOP);
  }
  const bench = opt('case', 'e2e-throughput');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(OUT, stamp);
  const childDir = path.join(dir, 'children');
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
  const env = {
    ...process.env,
    BENCH_CHILD_CPU_PROF_DIR: childDir,
    BENCH_E2E_SHAPES: flag('single-process') ? 'single-process' : 'containers',
  };
  console.log(`BENCH_E2E_SHAPES=${env.BENCH_E2E_SHAPES} node ${nodeArgs.join(' ')}`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: 'inherit', env });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const cpu = await newest(dir, '.cpuprofile');
  if (!cpu) throw new Error(`no .cpuprofile in ${dir} (bench exited ${code})`);
  // Keep only the main thread's profiles.
  for (const f of await filesWith(dir, '.cpuprofile')) if (f !== cpu) await rm(f);
  await summarizeChildren(childDir);
  const single = flag('single-process') || bench !== 'e2e-throughput';
  await printCpuSummary(
    single
      ? 'the bench process (product and harness)'
      : 'the bench process (harness: event source, stub, tracker, workers)',
    [cpu],
    ROOT,
    TOP,
    { full: single },
  );
  const heap = flag('heap') ? await newest(dir, '.heapprofile') : undefined;
  if (heap) await summarizeHeap(heap);
  console.log(
    `\nCPU profiles: ${cpu}${single ? '' : `, ${childDir}/*/`}${heap ? `\nheap profile: ${heap}` : ''}\ncase results: ${path.join(dir, 'results')}`,
  );
  process.exitCode = code;
}

await main();
