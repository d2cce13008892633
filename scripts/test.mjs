#!/usr/bin/env node
// `npm test`: everything the suite needs, then the suite.
//   1. checks Node, Java and Maven, installs dependencies if node_modules is missing (npm ci), as
//      `npm start` does (scripts/lib/prerequisites.mjs);
//   2. starts the local stack of real servers if it is not running (MongoDB-compatible,
//      ElasticMQ, Redis, dynalite — see scripts/lib/stack/index.mjs; Redis is installed with apt
//      when missing and running as root, otherwise the exact command is printed);
//   3. runs the unit and integration tests (vitest), passing extra arguments through;
//   4. stops the servers this command started (and only those).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePrerequisites, PrerequisiteError } from './lib/prerequisites.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

try {
  ensurePrerequisites({ log: (m) => console.log(`[test] ${m}`) });
} catch (err) {
  console.error(`[test] ${err instanceof PrerequisiteError ? err.message : err}`);
  process.exit(1);
}

const { stackUp, stackDown, StackError } = await import('./lib/stack/index.mjs');
let started = [];
try {
  started = (await stackUp()).started;
} catch (err) {
  console.error(`[test] ${err instanceof StackError ? err.message : err}`);
  process.exit(1);
}

const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = process.argv.slice(2);
const child = spawn(
  process.execPath,
  [vitest, 'run', ...(args.length > 0 ? args : ['--project', 'unit', '--project', 'integration'])],
  {
    stdio: 'inherit',
  },
);
let stopping = false;
const stop = async (code) => {
  if (stopping) return;
  stopping = true;
  if (started.length > 0) await stackDown({ only: started });
  process.exit(code);
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => void stop(code ?? (signal ? 1 : 0)));
