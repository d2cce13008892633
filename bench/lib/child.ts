/** Child node processes of the bench (memory consumer, import timer): run one, read the JSON it prints last. */
import { spawn } from 'node:child_process';
import { ROOT } from '../../scripts/lib/stack/index.mjs';

/** Runs `node ...args` from the repository root; resolves with its last stdout line parsed as JSON. */
export function runNodeJson<T>(args: string[], env: NodeJS.ProcessEnv, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${what} exited ${code}: ${err.slice(-1500)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as T);
      } catch {
        reject(new Error(`${what} printed ${out.slice(0, 300)} ${err.slice(-500)}`));
      }
    });
  });
}
