/**
 * Functions as separate processes, one per Lambda container (bench/children/*-container.ts): each
 * bundled like the deployed function (bench/lib/bundle.ts) and run with its NODE_OPTIONS from
 * serverless.yml. The bench plays the Lambda service: `invoke` hands an event to an idle container
 * over the IPC channel and resolves with the handler's answer. With BENCH_CHILD_CPU_PROF_DIR set
 * (`npm run profile`), every container records a CPU profile and writes it into <dir>/<function>/
 * when stopped (bench/children/lambda-runtime.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/stack/index.mjs';
import { bundle } from './bundle.js';
import type { ContainerReply, ContainerRequest, ContainerStats } from './container-protocol.js';
import { deployedNodeOptions } from './deployed.js';
import type { BenchEnv } from './env.js';

export interface ContainerFunction {
  /** serverless.yml's function name, e.g. executeTask. */
  name: string;
  /** The child's entry in bench/children/, without extension. */
  entry: string;
}

export const EXECUTE_TASK: ContainerFunction = { name: 'executeTask', entry: 'execute-task-container' };
export const RUN_PLAYBOOK: ContainerFunction = { name: 'runPlaybook', entry: 'run-playbook-container' };

export interface ContainerPool {
  readonly pids: number[];
  /** Hands `event` to an idle container (waiting for one if none is) and resolves with the handler's answer. */
  invoke(event: unknown): Promise<unknown>;
  /** Every container's counters since it started. */
  stats(): Promise<ContainerStats[]>;
  /** Stops every container (normal exit; SIGKILL after 10 s) and waits for it to exit. */
  stop(): Promise<void>;
}

interface Container {
  child: ChildProcess;
  pid: number;
  inFlight: number;
  stderr: string;
  pending: Map<number, { resolve(v: unknown): void; reject(e: Error): void }>;
}

const bundles = new Map<string, Promise<string>>();

/** The function's child bundle, built once per bench process. */
function bundled(fn: ContainerFunction, benchDir: string): Promise<string> {
  let file = bundles.get(fn.entry);
  if (!file) {
    const out = path.join(benchDir, 'out', `${fn.entry}.mjs`);
    file = bundle(path.join(benchDir, 'children', `${fn.entry}.ts`), out).then(() => out);
    bundles.set(fn.entry, file);
  }
  return file;
}

function ready(c: Container, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`container ${c.pid} not ready after ${timeoutMs} ms: ${c.stderr.slice(-500)}`)),
      timeoutMs,
    );
    c.child.on('message', (m: ContainerReply) => {
      if (m.t !== 'ready') return;
      clearTimeout(timer);
      resolve();
    });
    c.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`container ${c.pid} exited ${code}: ${c.stderr.slice(-500)}`));
    });
  });
}

function exited(c: Container): Promise<void> {
  const { child } = c;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    if (child.connected) child.send({ t: 'stop' } satisfies ContainerRequest);
    else child.kill('SIGTERM');
  });
}

/**
 * Starts `n` containers of `fn`. `perContainer` is how many invocations one container takes at
 * once: 1 as in Lambda; more for a function the bench runs in one process for many callers.
 */
export async function startContainers(
  env: BenchEnv,
  benchDir: string,
  fn: ContainerFunction,
  n: number,
  perContainer = 1,
): Promise<ContainerPool> {
  const file = await bundled(fn, benchDir);
  const profDir = process.env.BENCH_CHILD_CPU_PROF_DIR;
  if (profDir) await mkdir(path.join(profDir, fn.name), { recursive: true });
  const flags = deployedNodeOptions(fn.name);
  const containers: Container[] = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, [...flags, file], {
      cwd: ROOT,
      env: env.childEnv(),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const c: Container = { child, pid: child.pid ?? 0, inFlight: 0, stderr: '', pending: new Map() };
    child.stderr?.on('data', (d: Buffer) => {
      c.stderr = (c.stderr + d.toString()).slice(-4000);
    });
    child.on('message', (m: ContainerReply) => {
      if (m.t === 'ready') return;
      const p = c.pending.get(m.id);
      if (!p) return;
      c.pending.delete(m.id);
      if (m.t === 'stats') p.resolve(m.stats);
      else if (m.error !== undefined) p.reject(new Error(`${fn.name} in container ${c.pid}: ${m.error}`));
      else p.resolve(m.response);
    });
    child.on('exit', (code) => {
      for (const p of c.pending.values()) p.reject(new Error(`container ${c.pid} exited ${code}: ${c.stderr}`));
      c.pending.clear();
    });
    return c;
  });
  const stop = async () => {
    await Promise.all(containers.map(exited));
  };
  try {
    await Promise.all(containers.map((c) => ready(c, 60_000)));
  } catch (err) {
    await stop();
    throw err;
  }

  let nextId = 1;
  const request = (c: Container, m: ContainerRequest & { id: number }) =>
    new Promise<unknown>((resolve, reject) => {
      c.pending.set(m.id, { resolve, reject });
      c.child.send(m);
    });
  // Idle containers, least recently used first (so every one of them is kept warm).
  const idle: Container[] = [...containers];
  const waiting: Array<(c: Container) => void> = [];
  const acquire = (): Promise<Container> => {
    const c = idle.find((x) => x.inFlight < perContainer);
    if (c) {
      c.inFlight += 1;
      if (c.inFlight >= perContainer) idle.splice(idle.indexOf(c), 1);
      return Promise.resolve(c);
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (c: Container) => {
    const next = waiting.shift();
    if (next) return next(c);
    c.inFlight -= 1;
    if (!idle.includes(c)) idle.push(c);
  };
  return {
    pids: containers.map((c) => c.pid),
    async invoke(event) {
      const c = await acquire();
      try {
        return await request(c, { t: 'invoke', id: nextId++, event });
      } finally {
        release(c);
      }
    },
    async stats() {
      return (await Promise.all(containers.map((c) => request(c, { t: 'stats', id: nextId++ })))) as ContainerStats[];
    },
    stop,
  };
}
