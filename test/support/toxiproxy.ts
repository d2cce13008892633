/**
 * Network fault injection with Shopify's toxiproxy (a TCP proxy with an HTTP control API).
 * The binary is a Go module, built once with `go install` into .cache/toxiproxy/ (the Go
 * module proxy is reachable from this project's machines; no vendor download). The
 * reliability project's globalSetup starts one server; each test file creates its own
 * named proxies between the product and a real server, and cuts, restores or slows them.
 *
 *   disable()  closes every connection and refuses new ones (the link is down)
 *   enable()   listens again on the same port
 *   latency()  adds delay to every chunk in both directions
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, renameSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = path.join(ROOT, '.cache', 'toxiproxy');
const BINARY = path.join(DIR, 'toxiproxy-server');
/** Pinned: the newest version the Go module proxy serves for the v2 module path. */
export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0';

/** Builds the server binary once (about a minute on 2 cores); throws with the command to run otherwise. */
export function ensureToxiproxyBinary(): string {
  if (existsSync(BINARY)) return BINARY;
  const gobin = path.join(DIR, 'gobin');
  mkdirSync(gobin, { recursive: true });
  const res = spawnSync('go', ['install', TOXIPROXY_MODULE], {
    env: { ...process.env, GOBIN: gobin },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000,
  });
  if (res.error || res.status !== 0) {
    throw new Error(
      `could not build toxiproxy (${res.error?.message ?? res.stderr?.toString().trim()}). ` +
        `Install Go (Debian: apt-get install -y golang-go) or run: GOBIN=${gobin} go install ${TOXIPROXY_MODULE}`,
    );
  }
  renameSync(path.join(gobin, 'server'), BINARY);
  return BINARY;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it resolves true or `timeoutMs` passes. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RunningServer {
  url: string;
  pid: number;
  /** Stops the process this helper started (by its PID). */
  stop(): Promise<void>;
}

/** Stops a child we spawned: SIGTERM, then SIGKILL after a grace period. */
export function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts a toxiproxy server on a free port; its log goes to .stack/logs/toxiproxy.log. */
export async function startToxiproxy(): Promise<RunningServer> {
  const binary = ensureToxiproxyBinary();
  const port = await freePort();
  const logDir = path.join(ROOT, '.stack', 'logs');
  mkdirSync(logDir, { recursive: true });
  const log = openSync(path.join(logDir, 'toxiproxy.log'), 'a');
  const child = spawn(binary, ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/version`)).ok, 15_000, 'toxiproxy');
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { url, pid: child.pid ?? 0, stop: () => stopChild(child) };
}

export interface ProxyLink {
  name: string;
  /** host:port the product connects to. */
  listen: string;
  port: number;
  /** Cuts the link: closes every connection and refuses new ones. */
  disable(): Promise<void>;
  /** Restores the link on the same port. */
  enable(): Promise<void>;
  /** Adds `ms` (± jitter) to every chunk, both directions. */
  latency(ms: number, jitter?: number): Promise<void>;
  /** Removes every toxic. */
  clear(): Promise<void>;
  remove(): Promise<void>;
}

/** A client of a running toxiproxy server's HTTP API. */
export class Toxiproxy {
  constructor(readonly url: string) {}

  private async call(method: string, p: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`toxiproxy ${method} ${p}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : null;
  }

  /** Creates a proxy to `upstream` (host:port) listening on a random local port. */
  async createProxy(name: string, upstream: string): Promise<ProxyLink> {
    const created = (await this.call('POST', '/proxies', { name, listen: '127.0.0.1:0', upstream })) as {
      listen: string;
    };
    const listen = created.listen;
    const port = Number(listen.split(':').pop());
    const p = `/proxies/${encodeURIComponent(name)}`;
    let toxics: string[] = [];
    return {
      name,
      listen,
      port,
      disable: async () => {
        await this.call('POST', p, { enabled: false });
      },
      enable: async () => {
        await this.call('POST', p, { enabled: true });
      },
      latency: async (ms, jitter = 0) => {
        for (const stream of ['downstream', 'upstream']) {
          const toxic = `latency_${stream}`;
          await this.call('POST', `${p}/toxics`, {
            name: toxic,
            type: 'latency',
            stream,
            toxicity: 1,
            attributes: { latency: ms, jitter },
          });
          toxics.push(toxic);
        }
      },
      clear: async () => {
        for (const t of toxics) await this.call('DELETE', `${p}/toxics/${t}`).catch(() => undefined);
        toxics = [];
      },
      remove: async () => {
        await this.call('DELETE', p).catch(() => undefined);
      },
    };
  }
}
