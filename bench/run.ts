/**
 * `npm run bench` — measures the performance claims of the original Go service against
 * this service, baseline and product side by side on the local stack.
 *
 *   npm run bench                    full run; writes bench/results.json, results.md, ratios.svg
 *   npm run bench -- --quick         small fast variant (CI); writes into bench/out/quick/
 *   npm run bench -- --only=status-writes,task-fanout   some cases; writes into bench/out/partial/
 *   npm run bench -- --out=DIR       write the three files into DIR instead
 *
 * The environment is set (bench/lib/env.ts) before any lib/ module is loaded, so
 * the suite is imported dynamically afterwards. Exit code 0 when every case ran
 * and the results validated; missed targets are reported, not failed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupBenchEnv } from './lib/env.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

interface Args {
  quick: boolean;
  only: string[] | null;
  outDir: string;
}

function parseArgs(argv: string[]): Args {
  let quick = false;
  let only: string[] | null = null;
  let out: string | undefined;
  for (const a of argv) {
    if (a === '--quick') quick = true;
    else if (a.startsWith('--only=')) only = a.slice('--only='.length).split(',').filter(Boolean);
    else if (a.startsWith('--out=')) out = a.slice('--out='.length);
    else {
      console.error(`unknown argument ${a}\nusage: npm run bench [-- --quick] [--only=case,case] [--out=DIR]`);
      process.exit(2);
    }
  }
  const outDir = out
    ? path.resolve(out)
    : only
      ? path.join(BENCH_DIR, 'out', 'partial')
      : quick
        ? path.join(BENCH_DIR, 'out', 'quick')
        : BENCH_DIR;
  return { quick, only, outDir };
}

const args = parseArgs(process.argv.slice(2));
const t0 = Date.now();
const log = (m: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);

const env = await setupBenchEnv(log);
log(`database ${env.dbName}, queue ${env.queueUrl.split('/').pop()}${args.quick ? ' (quick)' : ''}`);
let code = 1;
try {
  const { runSuite } = await import('./suite.js');
  code = await runSuite(env, { ...args, benchDir: BENCH_DIR, log });
} finally {
  await env.teardown();
}
log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(code);
