/**
 * `npm start` as a user runs it, for the e2e files: boots it, waits for its "ready" banner, calls
 * the HTTP API, and stops it with Ctrl-C (SIGINT to the start script), falling back to killing what
 * it printed if a test failed before that.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const API = 'http://127.0.0.1:3000';
export const STUB = 'http://127.0.0.1:3010';
export const LAMBDA = 'http://127.0.0.1:3002';
export const PORTS = [3000, 3002, 3010];
export const SECRET = 'local-dev-secret';
export const BOOT_TIMEOUT_MS = 240_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setTimeout(500, () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Reply {
  status: number;
  body: unknown;
  contentType: string;
}

export async function call(
  method: string,
  p: string,
  opts: { token?: string; body?: unknown; raw?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${API}${p}`, {
    method,
    headers,
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, contentType: res.headers.get('content-type') ?? '' };
}

/** The environment of a user's shell: not vitest's (NODE_ENV=test, VITEST_*). */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV' && !k.startsWith('VITEST')),
  );
  return { ...env, AUTH_JWT_SECRET: SECRET, POWERTOOLS_LOG_LEVEL: 'WARN', ...extra };
}

export class NpmStart {
  private out = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Everything `npm start` printed so far. */
  get output(): string {
    return this.out;
  }

  /** A PID the start script printed (`[start] <label> <pid>`). */
  printedPid(label: RegExp): number | undefined {
    const m = label.exec(this.out);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  }

  /** Boots `npm start` and waits until GET /health answers and the banner is printed. */
  static async boot(extraEnv: Record<string, string> = {}): Promise<NpmStart> {
    const busy: number[] = [];
    for (const port of PORTS) if (await portOpen(port)) busy.push(port);
    if (busy.length > 0) throw new Error(`port(s) ${busy.join(', ')} in use: stop the running \`npm start\` first`);
    const npm = new NpmStart(
      spawn('npm', ['start'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: userEnv(extraEnv) }),
    );
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    for (;;) {
      if (npm.child.exitCode !== null) {
        throw new Error(`npm start exited (${npm.child.exitCode}):\n${npm.out.slice(-4000)}`);
      }
      try {
        const res = await fetch(`${API}/health`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok && npm.out.includes('playbook-service is up')) return npm;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) {
        await npm.kill();
        throw new Error(`npm start not up in ${BOOT_TIMEOUT_MS} ms:\n${npm.out.slice(-4000)}`);
      }
      await sleep(500);
    }
  }

  /** Ctrl-C: SIGINT to the start script. Resolves with its exit code, or 'timeout'. */
  async interrupt(timeoutMs = 60_000): Promise<number | null | 'timeout'> {
    const startPid = this.printedPid(/\[start\] pid (\d+)/);
    if (startPid !== undefined && alive(startPid)) process.kill(startPid, 'SIGINT');
    return Promise.race([this.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
  }

  /** Safety net after a failed test: Ctrl-C, then kill the group and serverless offline by PID. */
  async kill(): Promise<void> {
    if (this.child.pid !== undefined && this.child.exitCode === null) {
      await this.interrupt(30_000);
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    const offlinePid = this.printedPid(/serverless offline pid (\d+)/);
    if (offlinePid !== undefined && alive(offlinePid)) process.kill(offlinePid, 'SIGKILL');
  }
}
