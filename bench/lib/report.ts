/**
 * The bench's outputs: results.json (validated before it is written), results.md
 * (the original Go service's table with our measured column, all rows, one section per case) and
 * ratios.svg (bench/lib/chart.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { renderRatioChart } from './chart.js';
import { CAVEATS, ORIGINAL_TABLE } from './report-tables.js';
import { shortfall } from './stats.js';
import type { BenchCase, CaseOutcome, Row } from './types.js';

const num = z.number().finite().nullable();

/** The schema of results.json; CI's quick run only checks that a run produces a file that passes it. */
export const resultsSchema = z.object({
  machine: z.object({
    description: z.string(),
    cpus: z.number().int().positive(),
    cpu_model: z.string(),
    memory_gb: z.number().positive(),
    os: z.string(),
    load_avg_start: z.array(z.number()),
    load_avg_end: z.array(z.number()),
  }),
  node: z.string(),
  date: z.string(),
  mode: z.enum(['full', 'quick', 'partial']),
  duration_s: z.number().nonnegative(),
  cases: z.array(
    z.object({
      case: z.string(),
      name: z.string(),
      unit: z.string(),
      baseline: num,
      optimized: num,
      ratio: num,
      target: z.string(),
      target_kind: z.enum(['ratio-min', 'ratio-max', 'value-max', 'value-min', 'info']),
      target_value: num,
      pass: z.boolean().nullable(),
      skipped: z.string().optional(),
      note: z.string().optional(),
    }),
  ),
  details: z.record(z.string(), z.unknown()),
  errors: z.array(z.object({ case: z.string(), message: z.string() })),
});

export type Results = z.infer<typeof resultsSchema>;

export interface CaseRun {
  bench: BenchCase;
  outcome: CaseOutcome | null;
  error?: string;
}

export function machineInfo(loadStart: number[]): Results['machine'] {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown';
  const memGb = Math.round((os.totalmem() / 1024 ** 3) * 10) / 10;
  return {
    description: `${cpus.length} x ${model}, ${memGb} GB RAM, ${os.type()} ${os.release()}`,
    cpus: cpus.length,
    cpu_model: model,
    memory_gb: memGb,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load_avg_start: loadStart.map((x) => Math.round(x * 100) / 100),
    load_avg_end: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

function flatRow(r: Row): Results['cases'][number] {
  const clean = (x: number | null) => (x === null || !Number.isFinite(x) ? null : x);
  return {
    case: r.case,
    name: r.name,
    unit: r.unit,
    baseline: clean(r.baseline),
    optimized: clean(r.optimized),
    ratio: clean(r.ratio),
    target: r.target.text,
    target_kind: r.target.kind,
    target_value: r.target.value,
    pass: r.pass,
    ...(r.skipped ? { skipped: r.skipped } : {}),
    ...(r.note ? { note: r.note } : {}),
  };
}

/** Assembles and validates the results object. */
export function buildResults(runs: CaseRun[], mode: Results['mode'], started: number, loadStart: number[]): Results {
  const results: Results = {
    machine: machineInfo(loadStart),
    node: process.version,
    date: new Date(started).toISOString(),
    mode,
    duration_s: Math.round((Date.now() - started) / 1000),
    cases: runs.flatMap((r) => (r.outcome?.rows ?? []).map(flatRow)),
    details: Object.fromEntries(runs.filter((r) => r.outcome).map((r) => [r.bench.id, r.outcome?.details])),
    errors: runs.filter((r) => r.error).map((r) => ({ case: r.bench.id, message: r.error ?? '' })),
  };
  return resultsSchema.parse(results);
}

const fmt = (x: number | null, unit = ''): string => {
  if (x === null) return '–';
  const abs = Math.abs(x);
  const s = abs >= 100 ? x.toFixed(0) : abs >= 10 ? x.toFixed(1) : x.toFixed(2);
  return `${s}${unit}`;
};
const verdict = (r: Results['cases'][number]): string => {
  if (r.skipped) return `skipped: ${r.skipped}`;
  if (r.pass === null) return 'info';
  if (r.pass) return '**pass**';
  const target = { kind: r.target_kind, value: r.target_value, text: r.target };
  const gap = shortfall(target, r.target_kind.startsWith('ratio') ? r.ratio : r.optimized);
  return gap ? `**MISS** ${gap}` : '**MISS**';
};

function measuredCell(r: Results['cases'][number] | undefined, name: string): string {
  if (!r) return `${name}: not run`;
  if (r.skipped) return `${name}: skipped (${r.skipped})`;
  const value =
    r.target_kind === 'value-max' || r.target_kind === 'value-min' || r.baseline === null
      ? `${fmt(r.optimized)} ${r.unit}`
      : `${fmt(r.baseline)} -> ${fmt(r.optimized)} ${r.unit} (**${fmt(r.ratio)}x**)`;
  return `${name}: ${value}`;
}

/** results.md. */
export function renderMarkdown(results: Results, runs: CaseRun[]): string {
  const byName = new Map(results.cases.map((r) => [r.name, r]));
  const out: string[] = [];
  out.push("# Benchmarks: the original Go service's performance claims, measured");
  out.push('');
  out.push(
    '_Generated by `npm run bench` (bench/run.ts); do not edit by hand. Each case says what it measures and how, below._',
  );
  out.push('');
  out.push(
    '**Absolute numbers are from a shared 2-core machine (other work may run on it at the same time: see the load average below); only the ratios carry.** ' +
      'Baseline and product run in the same process against the same local servers (mongo-java-server, ElasticMQ, ' +
      'redis-server, dynalite), alternating, after a warm-up; every figure is a median over the rounds.',
  );
  out.push('');
  out.push(
    `Run: ${results.date}, mode \`${results.mode}\`, ${results.duration_s} s, Node ${results.node}, ${results.machine.description}, ` +
      `load average ${results.machine.load_avg_start.join(' / ')} at start and ${results.machine.load_avg_end.join(' / ')} at the end.`,
  );
  out.push('');
  out.push("## The original service's table, with our measured column");
  out.push('');
  out.push(
    "| Optimization | Metric | Original: current -> optimized | Original's claim | Measured here (baseline -> product) | Our target | Result |",
  );
  out.push('|---|---|---|---|---|---|---|');
  for (const s of ORIGINAL_TABLE) {
    const rows = s.rows.map((n) => byName.get(n));
    const measured = s.rows.map((n, i) => measuredCell(rows[i], n)).join('<br>');
    const tgt = rows.map((r) => (r ? r.target : '–')).join('<br>');
    const res = rows.map((r) => (r ? verdict(r) : '–')).join('<br>');
    out.push(`| ${s.optimization} | ${s.metric} | ${s.original} | ${s.claim} | ${measured} | ${tgt} | ${res} |`);
  }
  const bundles = results.cases.filter((r) => r.name.startsWith('cold-start.bundle.') && r.optimized !== null);
  if (bundles.length > 0) {
    const largest = bundles.reduce((a, b) => ((b.optimized ?? 0) > (a.optimized ?? 0) ? b : a));
    const over = bundles.filter((r) => r.pass === false).length;
    const init = byName.get('cold-start.init.execute-task');
    out.push(
      `| Cold start (ours, not in the original) | Bundle size, module init | unbundled sources -> one esbuild bundle per function | – | ` +
        `${bundles.length - over} of ${bundles.length} bundles <= 1.5 MB; largest ${largest.name.slice('cold-start.bundle.'.length)} ${fmt(largest.optimized)} KB` +
        `${init ? `<br>${measuredCell(init, init.name)}` : ''} | <= 1536 KB each${init ? '<br>informational' : ''} | ` +
        `${over === 0 ? '**pass**' : `**MISS** (${over})`}${init ? '<br>info' : ''} |`,
    );
  }
  out.push('');
  out.push('![Improvement factors, product over baseline, with targets](ratios.svg)');
  out.push('');
  out.push('## All rows');
  out.push('');
  out.push('| Row | Unit | Baseline | Product | Ratio | Target | Result |');
  out.push('|---|---|---:|---:|---:|---|---|');
  for (const r of results.cases) {
    out.push(
      `| ${r.name} | ${r.unit} | ${fmt(r.baseline)} | ${fmt(r.optimized)} | ${r.ratio === null ? '–' : `${fmt(r.ratio)}x`} | ${r.target} | ${verdict(r)} |`,
    );
  }
  out.push('');
  out.push(
    'Ratio: how many times better the product is than the baseline (baseline / product for times, sizes and round trips; ' +
      'product / baseline for throughput). For `task-fanout.critical-path` it is product latency / the physical floor, ' +
      'and for `memory.heap-growth` heap at the end / heap after warm-up.',
  );
  out.push('');
  out.push('## What the local stack distorts');
  out.push('');
  for (const line of CAVEATS) out.push(`- ${line}`);
  if (results.errors.length > 0) {
    out.push('');
    out.push('## Errors');
    out.push('');
    for (const e of results.errors) out.push(`- ${e.case}: ${e.message}`);
  }
  out.push('');
  out.push('## Per case');
  runs.forEach((run, i) => {
    out.push('');
    out.push(`### ${i + 1}. ${run.bench.title} (\`${run.bench.id}\`)`);
    out.push('');
    out.push(`Answers: ${run.bench.claim}.`);
    out.push('');
    out.push(run.bench.method.trim());
    for (const block of run.outcome?.tables ?? []) {
      out.push('');
      out.push(block.trim());
    }
    const notes = run.outcome?.notes ?? [];
    if (notes.length > 0) {
      out.push('');
      out.push('Measured:');
      out.push('');
      for (const n of notes) out.push(`- ${n}`);
    }
    if (run.error) {
      out.push('');
      out.push(`**Error:** ${run.error}`);
    }
  });
  out.push('');
  out.push('## How to run');
  out.push('');
  out.push('```');
  out.push(
    'npm run bench                 # full run (about 10 minutes), rewrites bench/results.{json,md} and bench/ratios.svg',
  );
  out.push('npm run bench -- --quick      # small variant (under 2 minutes), writes bench/out/quick/');
  out.push('npm run bench -- --only=task-fanout,run-starts   # some cases, writes bench/out/partial/');
  out.push('```');
  out.push('');
  out.push(
    'The bench starts the local stack if it is not running (and stops only what it started), uses a database ' +
      '`bench_<random>` and a task queue + DLQ of its own, and removes them (and its Redis keys) at the end.',
  );
  out.push('');
  out.push(
    'Cases live in bench/cases/ (one BenchCase each, registered in bench/suite.ts), baselines in bench/baselines/, ' +
      'shared workload pieces (playbook shapes, API Gateway events, bounded-concurrency driver, run completion, the ' +
      'Lambda-like consumer, round-trip counters) in bench/lib/.',
  );
  out.push('');
  return out.join('\n');
}

/** Writes results.json, results.md and ratios.svg into `dir`; returns their paths. */
export async function writeOutputs(dir: string, results: Results, runs: CaseRun[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = {
    json: path.join(dir, 'results.json'),
    md: path.join(dir, 'results.md'),
    svg: path.join(dir, 'ratios.svg'),
  };
  await writeFile(files.json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(files.md, renderMarkdown(results, runs));
  await writeFile(files.svg, await renderRatioChart(results));
  return Object.values(files);
}
