/**
 * A local HTTP integration stub that records every call. Paths:
 *   /ok[/...]                  200 { ok: true, path, body }
 *   /delay/<ms>[/...]          200 after <ms>
 *   /status/<code>[/...]       that status
 *   /flaky/<key>/<n>[/...]     500 for the first <n> calls with that key, then 200
 *   /score/<n>[/...]           200 { score: n }
 *   /big/<bytes>               200 with a body of that many bytes
 *   /echo-headers[/...]        200 { headers } (the request headers, as received)
 *   /echo-headers-b64[/...]    200 { headers } with each request header value base64-encoded
 *   /deep/<n>[/...]            200 with a JSON body of <n> nested arrays (valid JSON, ~2n bytes)
 *   /redirect/<code>?to=<url>  that 3xx status with Location: <url>
 *   /random-fail/<pct>[/...]   500 for about <pct>% of calls (random), else 200
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubCall {
  method: string;
  path: string;
  body: unknown;
  at: number;
  headers: Record<string, string | string[] | undefined>;
}

export interface Stub {
  url: string;
  calls: StubCall[];
  maxConcurrent: number;
  callsTo(prefix: string): StubCall[];
  reset(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Starts the stub on 127.0.0.1 on a free port. */
export async function startStub(): Promise<Stub> {
  const calls: StubCall[] = [];
  const flaky = new Map<string, number>();
  let active = 0;
  const stub: Stub = {
    url: '',
    calls,
    maxConcurrent: 0,
    callsTo: (prefix) => calls.filter((c) => c.path.startsWith(prefix)),
    reset: () => {
      calls.length = 0;
      flaky.clear();
      stub.maxConcurrent = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer(async (req, res) => {
    active += 1;
    stub.maxConcurrent = Math.max(stub.maxConcurrent, active);
    const path = req.url ?? '/';
    const body = await readBody(req);
    calls.push({ method: req.method ?? 'GET', path, body, at: Date.now(), headers: req.headers });
    const seg = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
    const send = (status: number, payload: unknown) => {
      active -= 1;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    switch (seg[0]) {
      case 'delay':
        setTimeout(() => send(200, { ok: true, path }), Number(seg[1] ?? 0));
        return;
      case 'status':
        send(Number(seg[1] ?? 500), { status: Number(seg[1] ?? 500), path });
        return;
      case 'flaky': {
        const key = seg[1] ?? '';
        const seen = (flaky.get(key) ?? 0) + 1;
        flaky.set(key, seen);
        if (seen <= Number(seg[2] ?? 0)) send(500, { attempt: seen });
        else send(200, { ok: true, attempt: seen });
        return;
      }
      case 'score':
        send(200, { score: Number(seg[1] ?? 0) });
        return;
      case 'big':
        send(200, { data: 'x'.repeat(Number(seg[1] ?? 0)) });
        return;
      case 'echo-headers':
        send(200, { headers: req.headers });
        return;
      case 'echo-headers-b64': {
        const encoded: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) encoded[k] = Buffer.from(String(v)).toString('base64');
        send(200, { headers: encoded });
        return;
      }
      case 'deep': {
        // Written as text: JSON.stringify of the value would overflow this process's stack too.
        const n = Number(seg[1] ?? 0);
        active -= 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`${'['.repeat(n)}${']'.repeat(n)}`);
        return;
      }
      case 'redirect': {
        const to = new URL(path, 'http://stub').searchParams.get('to') ?? '/';
        active -= 1;
        res.writeHead(Number(seg[1] ?? 302), { location: to, 'content-type': 'application/json' });
        res.end(JSON.stringify({ redirect: to }));
        return;
      }
      case 'random-fail':
        if (Math.random() * 100 < Number(seg[1] ?? 5)) send(500, { failed: true });
        else send(200, { ok: true });
        return;
      default:
        send(200, { ok: true, path, body });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.keepAliveTimeout = 30_000;
  return stub;
}
