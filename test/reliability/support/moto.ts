/**
 * moto (PyPI) as the local SSM Parameter Store for the secrets tests. Installed once,
 * pinned, into a virtualenv under .cache/moto-venv; started and stopped by PID by the
 * reliability project's globalSetup only (the shared local stack does not need it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type RunningServer, stopChild, waitFor } from '../../support/toxiproxy.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const VENV = path.join(ROOT, '.cache', 'moto-venv');
const SERVER = path.join(VENV, 'bin', 'moto_server');
export const MOTO_REQUIREMENT = 'moto[server]==5.2.5';

function run(cmd: string, args: string[]): void {
  const res = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
  if (res.error || res.status !== 0) {
    throw new Error(
      `'${cmd} ${args.join(' ')}' failed: ${res.error?.message ?? res.stderr?.toString().trim().slice(-2000)}`,
    );
  }
}

/** Creates the virtualenv and installs the pinned moto once (about a minute). */
export function ensureMoto(): string {
  if (existsSync(SERVER)) return SERVER;
  const python = ['python3', 'python'].find((p) => !spawnSync(p, ['--version'], { stdio: 'ignore' }).error);
  if (!python) throw new Error('python3 is needed for the local SSM server (moto): apt-get install -y python3-venv');
  run(python, ['-m', 'venv', VENV]);
  run(path.join(VENV, 'bin', 'pip'), ['install', '-q', '--disable-pip-version-check', MOTO_REQUIREMENT]);
  return SERVER;
}

/** Starts moto_server on a free 127.0.0.1 port; its log goes to .stack/logs/moto.log. */
export async function startMoto(): Promise<RunningServer> {
  const server = ensureMoto();
  const port = await freePort();
  const logDir = path.join(ROOT, '.stack', 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = openSync(path.join(logDir, 'moto.log'), 'a');
  const child = spawn(server, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/moto-api/`)).status < 500, 60_000, 'moto_server');
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { url, pid: child.pid ?? 0, stop: () => stopChild(child) };
}
