/**
 * Case 8, cold start: every functions/*.ts is bundled as serverless.yml bundles it
 * (bench/lib/bundle.ts) into bench/out/bundles/; we report each bundle's size and the
 * module initialisation time of a fresh node process importing it (median of 10),
 * bundled vs unbundled (the TypeScript source through tsx, resolving node_modules).
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from '../../scripts/lib/stack/index.mjs';
import { bundle } from '../lib/bundle.js';
import { runNodeJson } from '../lib/child.js';
import { deployedNodeOptionsOfFile } from '../lib/deployed.js';
import type { BenchEnv } from '../lib/env.js';
import { median, round, row, targets } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome, Row } from '../lib/types.js';

const MAX_BUNDLE_BYTES = 1.5 * 1024 * 1024;

interface Timing {
  importMs: number;
  sinceStartMs: number;
  rss: number;
}

function timeImport(args: string[], env: NodeJS.ProcessEnv): Promise<Timing> {
  return runNodeJson<Timing>(args, env, `import of ${args.at(-1)}`);
}

const METHOD = `
**Bundles.** esbuild with serverless.yml's options (ESM, platform node, target node22, minify, keepNames,
external source map, the ${'`'}createRequire${'`'} banner, only custom.esbuild.exclude external), one bundle per functions/*.ts, into
bench/out/bundles/ (git-ignored). Size is the .mjs file (the .map is not loaded unless an error is printed).
**Init time.** A fresh node process with the function's NODE_OPTIONS from serverless.yml imports the
handler module and reports how long the ${'`'}import()${'`'} took: module loading plus module-scope initialisation
(config validation, Powertools singletons; clients are lazy and connect on first use). Bundled: the .mjs.
Unbundled: the .ts source through ${'`'}tsx${'`'}, resolving node_modules file by file (what running the sources
without a build step costs; tsx's transpiling is part of that cost). Median of 10 processes per side
(3 with --quick), sides alternating. Node here is v20; Lambda runs node22.
`;

export function coldStartCase(opts: { env: BenchEnv; benchDir: string }): BenchCase {
  return {
    id: 'cold-start',
    title: 'Cold start: bundle size and module initialisation',
    claim: "ours: each bundle <= 1.5 MB (no line in the original's table; Lambda cold starts)",
    method: METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const functionsDir = path.join(ROOT, 'functions');
      const outDir = path.join(opts.benchDir, 'out', 'bundles');
      await mkdir(outDir, { recursive: true });
      const entries = (await readdir(functionsDir)).filter((f) => f.endsWith('.ts')).sort();
      const timer = path.join(opts.benchDir, 'children', 'import-timer.mjs');
      const env = opts.env.childEnv();
      // --quick sizes every bundle but times one function, once per side.
      const samples = ctx.quick ? 1 : 10;
      const timedFunctions = ctx.quick ? ['execute-task'] : null;
      const rows: Row[] = [];
      const perFunction: Record<string, unknown> = {};
      const notes: string[] = [];
      for (const file of entries) {
        const name = file.replace(/\.ts$/, '');
        const src = path.join(functionsDir, file);
        const out = path.join(outDir, `${name}.mjs`);
        const bytes = await bundle(src, out);
        const gz = gzipSync(readFileSync(out)).length;
        const kb = bytes / 1024;
        rows.push(
          row({
            case: 'cold-start',
            name: `cold-start.bundle.${name}`,
            unit: 'KB (minified .mjs)',
            baseline: null,
            optimized: round(kb, 1),
            ratio: null,
            target: targets.valueAtMost(MAX_BUNDLE_BYTES / 1024, '<= 1536 KB'),
          }),
        );
        perFunction[name] = { bytes, gzip_bytes: gz };
        if (timedFunctions && !timedFunctions.includes(name)) {
          notes.push(`${name}: ${kb.toFixed(0)} KB (${(gz / 1024).toFixed(0)} KB gzipped)`);
          continue;
        }
        const flags = deployedNodeOptionsOfFile(name);
        const bundled: Timing[] = [];
        const source: Timing[] = [];
        // The first pair warms the OS file cache and is not counted (no warm-up with --quick).
        const warm = ctx.quick ? 0 : 1;
        for (let i = 0; i < samples + warm; i++) {
          const b = () => timeImport([...flags, timer, out], env);
          const s = () => timeImport([...flags, '--import', 'tsx', timer, src], env);
          // Alternate which side goes first.
          let x: Timing;
          let y: Timing;
          if (i % 2 === 0) {
            x = await b();
            y = await s();
          } else {
            y = await s();
            x = await b();
          }
          if (i < warm) continue;
          bundled.push(x);
          source.push(y);
        }
        const bMs = median(bundled.map((t) => t.importMs));
        const sMs = median(source.map((t) => t.importMs));
        rows.push(
          row({
            case: 'cold-start',
            name: `cold-start.init.${name}`,
            unit: 'ms to import the handler module',
            baseline: round(sMs, 1),
            optimized: round(bMs, 1),
            ratio: round(sMs / bMs),
            target: targets.info(),
            note: 'unbundled (tsx, node_modules) vs bundle',
          }),
        );
        perFunction[name] = {
          bytes,
          gzip_bytes: gz,
          import_ms: {
            bundled: bundled.map((t) => round(t.importMs, 1)),
            unbundled: source.map((t) => round(t.importMs, 1)),
          },
          process_ready_ms: {
            bundled: round(median(bundled.map((t) => t.sinceStartMs)), 1),
            unbundled: round(median(source.map((t) => t.sinceStartMs)), 1),
          },
          rss_after_import_mb: round(median(bundled.map((t) => t.rss)) / 1024 / 1024, 1),
        };
        notes.push(
          `${name}: ${kb.toFixed(0)} KB (${(gz / 1024).toFixed(0)} KB gzipped), import ${bMs.toFixed(0)} ms bundled vs ${sMs.toFixed(0)} ms unbundled; ` +
            `process start to handler ready ${median(bundled.map((t) => t.sinceStartMs)).toFixed(0)} ms bundled, RSS ${(median(bundled.map((t) => t.rss)) / 1024 / 1024).toFixed(0)} MB`,
        );
        ctx.log(`cold-start: ${name} ${kb.toFixed(0)} KB, ${bMs.toFixed(0)} vs ${sMs.toFixed(0)} ms`);
      }
      return { rows, details: { samples, functions: perFunction }, notes };
    },
  };
}
