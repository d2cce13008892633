#!/usr/bin/env node
// A local stand-in for the integrations playbooks call (threat intel, firewall), for `npm start`
// and the e2e test. Answers JSON on 127.0.0.1:3010 (LOCAL_STUB_PORT):
//   GET  /health                 { status: 'ok' }
//   GET  /intel/ip/:ip           { ip, score, verdict }  203.0.113.x scores 95 (malicious),
//                                198.51.100.x scores 10 (benign), other IPs a stable 0-100 hash
//   POST /firewall/block         { blocked: true, ip, rule_id }  (ip from the JSON body)
//   ANY  /delay/:ms              { ok: true, delayed_ms } after ms (at most 60000)
//   ANY  /status/:code           that status with { status }
//   GET  /calls                  the last 100 calls (method, path, body, at), for checks by hand
// Run alone: `node scripts/local-stub.mjs`; scripts/start.mjs runs it inside its own process.

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const MAX_DELAY_MS = 60_000;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_CALLS_KEPT = 100;

/** @param {string} ip */
function intelScore(ip) {
  if (ip.startsWith('203.0.113.')) return 95;
  if (ip.startsWith('198.51.100.')) return 10;
  return createHash('sha256').update(ip).digest()[0] % 101;
}

/** @param {number} score */
const verdictOf = (score) => (score > 80 ? 'malicious' : score > 50 ? 'suspicious' : 'benign');

/** @param {import('node:http').IncomingMessage} req @returns {Promise<unknown>} */
async function readJson(req) {
  const parts = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) break;
    parts.push(chunk);
  }
  const text = Buffer.concat(parts).toString('utf8');
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Starts the stub.
 * @param {{ port?: number, host?: string, log?: (line: string) => void }} [opts]
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startLocalStub(opts = {}) {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? Number(process.env.LOCAL_STUB_PORT ?? 3010);
  const log = opts.log ?? (() => {});
  /** @type {{ method: string, path: string, body: unknown, at: number }[]} */
  const calls = [];

  const server = createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${host}`);
    const body = await readJson(req);
    calls.push({ method, path: url.pathname, body, at: Date.now() });
    if (calls.length > MAX_CALLS_KEPT) calls.shift();
    const seg = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    /** @param {number} status @param {unknown} payload */
    const send = (status, payload) => {
      log(`${method} ${url.pathname} -> ${status}`);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };

    if (seg[0] === 'health' && seg.length === 1) return send(200, { status: 'ok' });
    if (seg[0] === 'calls' && seg.length === 1) return send(200, { calls });
    if (seg[0] === 'intel' && seg[1] === 'ip' && seg.length === 3 && method === 'GET') {
      const ip = seg[2] ?? '';
      const score = intelScore(ip);
      return send(200, { ip, score, verdict: verdictOf(score) });
    }
    if (seg[0] === 'firewall' && seg[1] === 'block' && seg.length === 2 && method === 'POST') {
      const ip = body && typeof body === 'object' && 'ip' in body ? body.ip : undefined;
      if (typeof ip !== 'string' || ip.length === 0) return send(400, { error: 'body.ip is required' });
      const ruleId = `rule-${createHash('sha256').update(ip).digest('hex').slice(0, 8)}`;
      return send(200, { blocked: true, ip, rule_id: ruleId });
    }
    if (seg[0] === 'delay' && seg.length === 2) {
      const ms = Math.min(Math.max(Number(seg[1]) || 0, 0), MAX_DELAY_MS);
      setTimeout(() => send(200, { ok: true, delayed_ms: ms }), ms);
      return;
    }
    if (seg[0] === 'status' && seg.length === 2) {
      const code = Number(seg[1]);
      const status = Number.isInteger(code) && code >= 200 && code <= 599 ? code : 400;
      return send(status, { status });
    }
    send(404, { error: `no stub route ${method} ${url.pathname}` });
  });
  server.keepAliveTimeout = 30_000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });

  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const stub = await startLocalStub({ log: (line) => console.log(`[stub] ${line}`) });
  console.log(`[stub] listening on ${stub.url}`);
  const stop = async () => {
    await stub.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
