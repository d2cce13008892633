/**
 * A failed `npm start` says truthfully what it had started and stops it. Runs the start script of
 * a copy of the repository (its own .stack/, so its own local stack; node_modules and the cached
 * emulator jars linked from this checkout) on ports of its own, and makes it fail:
 *   - before any server started (the MongoDB port is taken by something else);
 *   - after starting three servers (MongoDB points at an address that does not answer, so the
 *     database migration fails): those three are stopped again, and nothing else is touched.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTS, portOpen, ROOT, userEnv } from './support/npm-start.js';

const run = promisify(execFile);
let copy: string;
const servers: net.Server[] = [];

/** A TCP server on a free port (something that is not ours holding it). */
async function holdPort(): Promise<number> {
  const server = net.createServer((s) => s.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Running, not a zombie waiting for init to reap it. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** A port free right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function start(env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(copy, 'scripts', 'start.mjs')], {
      cwd: copy,
      env: userEnv(env),
      timeout: 120_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('a failed npm start', () => {
  beforeAll(async () => {
    for (const port of PORTS) if (await portOpen(port)) throw new Error(`port ${port} in use: stop \`npm start\``);
    copy = mkdtempSync(path.join(tmpdir(), 'start-failure-'));
    for (const entry of ['package.json', 'serverless.yml', 'scripts', 'tools', 'events']) {
      cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    }
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    symlinkSync(path.join(ROOT, '.cache'), path.join(copy, '.cache'));
  });

  afterAll(async () => {
    for (const s of servers) s.close();
    // Whatever the copy's stack still runs (nothing, if the tests passed).
    await run(process.execPath, [path.join(copy, 'scripts', 'stack.mjs'), 'down', '--quiet'], { cwd: copy }).catch(
      () => undefined,
    );
    rmSync(copy, { recursive: true, force: true });
  }, 60_000);

  it('before any server started: says none was, never that the stack "was running before"', async () => {
    const { code, out } = await start({ MONGO_PORT: String(await holdPort()) });
    expect(code, out).toBe(1);
    expect(out).toContain('is already in use by a process this stack did not start');
    expect(out).toContain('local stack: failed to start; no server of it had been started');
    expect(out).not.toContain('was running before');
    expect(out).not.toContain('running before `npm start`');
  });

  it('after starting three servers: stops exactly those and says so', async () => {
    const env = {
      // Nothing answers there: the migration fails after its server selection timeout.
      MONGO_URI: `mongodb://127.0.0.1:${await freePort()}/?serverSelectionTimeoutMS=1500`,
      SQS_PORT: String(await freePort()),
      REDIS_PORT: String(await freePort()),
      DYNAMODB_PORT: String(await freePort()),
    };
    const { code, out } = await start(env);
    expect(code, out).toBe(1);
    expect(out).toContain('database migration failed');
    expect(out).toContain('local stack servers stopped: sqs, redis, dynamodb');
    expect(out).toContain('external services untouched: mongo');
    expect(out).not.toContain('running before `npm start`');
    for (const port of [env.SQS_PORT, env.REDIS_PORT, env.DYNAMODB_PORT]) {
      expect(await portOpen(Number(port)), `port ${port}`).toBe(false);
    }
    const pids = [...out.matchAll(/ready in \d+ ms\s+pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(running(pid), `pid ${pid}`).toBe(false);
  }, 120_000);
});
