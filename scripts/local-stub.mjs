#!/usr/bin/env node
// A local stand-in for the integrations playbooks call (threat intel, firewall), for `npm start`
// and the e2e test. Answers JSON on 127.0.0.1:3010 (LOCAL_STUB_PORT):
//   GET  /health                 { status: 'ok' }
//   GET  /intel/ip/:ip           { ip, score, verdict }  203.0.113.x scores 95 (malicious),
//                                198.51.100.x scores 10 (benign), other IPs a stable 0-100 hash
//   POST /firewall/block         { blocked: true, ip, rule_id }  (ip from the JSON body)
//   ANY  /delay/:ms              { ok: true, delayed_ms } after ms (at most 60000)
//   ANY  /status/:code           that status with { status }
//   GET  /calls                  the last 1000 calls (method, path, group, body, at, seq, end_seq), for
//                                checks by hand; ?group=NAME keeps that group's
//   GET  /concurrency/:group     { group, calls, in_flight, peak } of the calls made with ?group=NAME
// Any call may carry ?group=NAME: the stub counts that group's calls in flight (started, not yet
// answered) and their peak, and numbers every call's start (seq) and answer (end_seq) from one
// counter, so a test can tell from the order of events alone whether calls overlapped.
// Run alone: `node scripts/local-stub.mjs`; scripts/start.mjs runs it inside its own process.

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const MAX_DELAY_MS = 60_000;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_CALLS_KEPT = 1000;
const MAX_GROUPS_KEPT = 1000;

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
  /** @type {{ method: string, path: string, group: string | null, body: unknown, at: number, seq: number, end_seq: number | null }[]} */
  const calls = [];
  /** @type {Map<string, { calls: number, in_flight: number, peak: number }>} */
  const groups = new Map();
  let seq = 0;

  const server = createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${host}`);
    const body = await readJson(req);
    const group = url.searchParams.get('group');
    const seg = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    // Questions about the calls are not calls.
    const introspection = seg[0] === 'calls' || seg[0] === 'concurrency';
    const call = {
      method,
      path: url.pathname,
      group,
      body,
      at: Date.now(),
      seq: 0,
      end_seq: /** @type {number | null} */ (null),
    };
    /** @type {{ calls: number, in_flight: number, peak: number } | undefined} */
    let counter;
    if (!introspection) {
      call.seq = ++seq;
      calls.push(call);
      if (calls.length > MAX_CALLS_KEPT) calls.shift();
      if (group !== null) {
        counter = groups.get(group) ?? { calls: 0, in_flight: 0, peak: 0 };
        groups.delete(group); // re-inserted last: the oldest groups go first
        groups.set(group, counter);
        if (groups.size > MAX_GROUPS_KEPT) groups.delete(/** @type {string} */ (groups.keys().next().value));
        counter.calls += 1;
        counter.in_flight += 1;
        counter.peak = Math.max(counter.peak, counter.in_flight);
      }
    }
    /** @param {number} status @param {unknown} payload */
    const send = (status, payload) => {
      if (!introspection) call.end_seq = ++seq;
      if (counter) counter.in_flight -= 1;
      log(`${method} ${url.pathname} -> ${status}`);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };

    if (seg[0] === 'health' && seg.length === 1) return send(200, { status: 'ok' });
    if (seg[0] === 'calls' && seg.length === 1) {
      return send(200, { calls: group === null ? calls : calls.filter((c) => c.group === group) });
    }
    if (seg[0] === 'concurrency' && seg.length === 2) {
      const name = seg[1] ?? '';
      return send(200, { group: name, ...(groups.get(name) ?? { calls: 0, in_flight: 0, peak: 0 }) });
    }
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
