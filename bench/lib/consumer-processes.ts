/**
 * The task consumer as separate processes, one per Lambda container (bench/children/consumer-process.ts):
 * what a Lambda deployment gives each concurrent invocation (a process and a CPU share of its own),
 * where the in-process poller runs every invocation on the bench's one thread.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/stack/index.mjs';
import { bundle } from './bundle.js';
import { deployedNodeOptions } from './deployed.js';
import type { BenchEnv } from './env.js';

export interface ConsumerProcesses {
  /** Stops every child by its PID (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. */
  stop(): Promise<void>;
}

function ready(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`consumer process not ready after ${timeoutMs} ms: ${err.slice(-500)}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`consumer process exited ${code}: ${err.slice(-500)}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Bundles the child like the deployed function and starts `n` of them with executeTask's NODE_OPTIONS. */
export async function startConsumerProcesses(env: BenchEnv, benchDir: string, n: number): Promise<ConsumerProcesses> {
  const file = path.join(benchDir, 'out', 'consumer-process.mjs');
  await bundle(path.join(benchDir, 'children', 'consumer-process.ts'), file);
  const flags = deployedNodeOptions('executeTask');
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, [...flags, file], { cwd: ROOT, env: env.childEnv(), stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const stop = async () => {
    await Promise.all(children.map(exited));
  };
  try {
    await Promise.all(children.map((c) => ready(c, 30_000)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
