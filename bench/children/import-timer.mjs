// Child of the cold-start case: imports one handler module in a fresh process and prints, as
// one JSON line, how long the import took (module loading + initialisation) and how long
// since the process started. Run as `node import-timer.mjs FILE` (bundle) or
// `node --import tsx import-timer.mjs FILE.ts` (source).
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
if (!file) {
  console.error('usage: import-timer.mjs FILE');
  process.exit(2);
}
const t0 = performance.now();
const mod = await import(pathToFileURL(file).href);
const importMs = performance.now() - t0;
if (typeof mod.handler !== 'function') {
  console.error(`${file} exports no handler`);
  process.exit(1);
}
process.stdout.write(
  `${JSON.stringify({ importMs, sinceStartMs: performance.now(), rss: process.memoryUsage.rss() })}\n`,
);
process.exit(0);
