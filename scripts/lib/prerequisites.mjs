// What `npm test` and `npm start` both need before anything else, checked and installed the same way
// for both: Node >= 20.19, a JDK and Maven on the PATH (the emulators are Java programs), and the
// npm dependencies (`npm ci` when node_modules is missing, e.g. on a fresh clone).
// Node built-ins only: this runs before node_modules exists.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export class PrerequisiteError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'PrerequisiteError';
  }
}

/** npm writes this file at the end of every install: its absence means no (complete) install. */
export const INSTALL_MARKER = path.join(ROOT, 'node_modules', '.package-lock.json');

/** @param {string} version e.g. process.versions.node */
export function nodeTooOld(version) {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < 20 || (major === 20 && minor < 19);
}

/**
 * Checks Node, java and mvn; runs `npm ci` in the repository when node_modules is missing.
 * Throws a PrerequisiteError saying what is missing and how to install it.
 * @param {{ log: (m: string) => void, env?: NodeJS.ProcessEnv }} opts
 * @returns {{ installed: boolean, ms: number }} whether `npm ci` ran, and how long it took
 */
export function ensurePrerequisites(opts) {
  if (nodeTooOld(process.versions.node)) {
    throw new PrerequisiteError(`Node ${process.versions.node} is too old: install Node 20.19 or newer (see README).`);
  }
  for (const tool of ['java', 'mvn']) {
    if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).error) {
      throw new PrerequisiteError(
        `'${tool}' is missing: install a JDK 17+ and Maven (Debian: apt-get install -y openjdk-17-jdk-headless maven).`,
      );
    }
  }
  if (existsSync(INSTALL_MARKER)) return { installed: false, ms: 0 };
  opts.log('node_modules missing: running npm ci');
  const t0 = Date.now();
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: opts.env ?? process.env,
  });
  if (ci.error || ci.status !== 0) {
    throw new PrerequisiteError(`npm ci failed (${ci.error ? ci.error.message : `exit ${ci.status}`})`);
  }
  if (!existsSync(INSTALL_MARKER)) throw new PrerequisiteError(`npm ci ended without writing ${INSTALL_MARKER}`);
  return { installed: true, ms: Date.now() - t0 };
}
