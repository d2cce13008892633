/**
 * Workload pieces shared by the engine cases (fan-out, run starts, memory, and the
 * e2e-throughput case): playbook shapes, real-shaped API Gateway v2
 * events with the authorizer's context, a bounded-concurrency driver, and a
 * completion tracker that watches executions in the run's database.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { Db } from 'mongodb';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { createPlaybook } from '../../lib/engine/playbooks.js';
import type { PlaybookStore } from '../../lib/engine/ports/playbook-store.js';
import { auditLog } from '../../lib/wiring/audit.js';
import { lambdaContext } from '../../test/support/lambda-context.js';

export interface Caller {
  tenant_code: string;
  sub: string;
}

export const TENANT: Caller = { tenant_code: 'bench-tenant', sub: 'bench-analyst' };

/** `width` independent http tasks on `url`, plus a join task after all of them when `join` is set. */
export function fanOutPlaybook(name: string, url: string, width: number, join = false): Record<string, unknown> {
  const tasks: Array<Record<string, unknown>> = [];
  for (let i = 0; i < width; i++) {
    tasks.push({
      id: `call_${i}`,
      type: 'http',
      config: { method: 'POST', url, body: { task: i, ip: '{{ alert.src_ip }}' } },
      timeout_ms: 10_000,
    });
  }
  if (join) {
    tasks.push({
      id: 'join',
      type: 'transform',
      depends_on: tasks.map((t) => t.id as string),
      config: { expression: '$count($keys(tasks))' },
    });
  }
  return { name, status: 'active', tasks };
}

/** Stores a playbook for `caller` through the product's createPlaybook (validation included). */
export async function storePlaybook(store: PlaybookStore, caller: Caller, body: unknown): Promise<void> {
  const write = { tenant_code: caller.tenant_code, actor: caller.sub, now: Date.now(), audit: auditLog() };
  await createPlaybook(store, write, body, randomUUID);
}

type ApiHandler = (event: never, context: Context) => Promise<unknown>;

export interface ApiCall {
  method: string;
  /** The route as serverless.yml declares it, e.g. /executions/{peid}. */
  route: string;
  path: string;
  caller: Caller;
  body?: unknown;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
}

/** An HTTP API (payload 2.0) event as API Gateway hands it over after the Lambda authorizer allowed it. */
export function apiEvent(call: ApiCall): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(call.headers ?? {}) };
  const query = call.query ?? {};
  return {
    version: '2.0',
    routeKey: `${call.method} ${call.route}`,
    rawPath: call.path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(call.pathParameters ? { pathParameters: call.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: call.method, path: call.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: randomUUID(),
      routeKey: `${call.method} ${call.route}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      authorizer: { lambda: { tenant_code: call.caller.tenant_code, sub: call.caller.sub } },
    } as APIGatewayProxyEventV2['requestContext'],
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    isBase64Encoded: false,
  };
}

export interface ApiResult {
  status: number;
  body: unknown;
}

/** Invokes an HTTP handler with a real-shaped event and a Lambda context; parses the JSON answer. */
export async function invokeApi(handler: unknown, fn: string, call: ApiCall): Promise<ApiResult> {
  const res = (await (handler as ApiHandler)(apiEvent(call) as never, lambdaContext(fn, 28_000))) as {
    statusCode: number;
    body?: string;
  };
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as unknown) : undefined };
}

/** POST /runplaybook through `handler`; returns the peid or throws with the answer. */
export async function startRunVia(
  handler: unknown,
  caller: Caller,
  playbookName: string,
  alert: Record<string, unknown> = { src_ip: '203.0.113.7' },
): Promise<string> {
  const res = await invokeApi(handler, 'runPlaybook', {
    method: 'POST',
    route: '/runplaybook',
    path: '/runplaybook',
    caller,
    body: { playbook_name: playbookName, alert_id: `alert-${randomUUID()}`, alert },
  });
  if (res.status !== 202) throw new Error(`runplaybook answered ${res.status}: ${JSON.stringify(res.body)}`);
  return (res.body as { peid: string }).peid;
}

/** Runs `fn(i)` for i in [0, total) with at most `inFlight` at once; returns each call's latency in ms. */
export async function drive(
  total: number,
  inFlight: number,
  fn: (i: number) => Promise<void>,
): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = new Array(total);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const s = performance.now();
      await fn(i);
      latencies[i] = performance.now() - s;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  return { latencies, wallMs: performance.now() - t0 };
}

export interface FinishedRun {
  peid: string;
  execution_status: string;
  createddate: number;
  completeddate: number;
}

/**
 * Waits until every run in `peids` is no longer running, polling the executions
 * collection every `everyMs` (one query for all pending runs). Times are the
 * product's own clock readings (epoch ms), so completion time needs no polling precision.
 */
export async function waitFinished(
  db: Db,
  peids: readonly string[],
  timeoutMs: number,
  everyMs = 10,
): Promise<Map<string, FinishedRun>> {
  const col = db.collection<{ _id: string } & Omit<FinishedRun, 'peid'>>(COLLECTIONS.executions);
  const done = new Map<string, FinishedRun>();
  const pending = new Set(peids);
  const end = Date.now() + timeoutMs;
  while (pending.size > 0) {
    const rows = await col
      .find(
        { _id: { $in: [...pending] }, execution_status: { $ne: 'running' } },
        { projection: { execution_status: 1, createddate: 1, completeddate: 1 } },
      )
      .toArray();
    for (const r of rows) {
      pending.delete(r._id);
      done.set(r._id, {
        peid: r._id,
        execution_status: r.execution_status,
        createddate: r.createddate,
        completeddate: r.completeddate ?? Date.now(),
      });
    }
    if (pending.size === 0) break;
    if (Date.now() > end)
      throw new Error(`${pending.size} of ${peids.length} runs still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return done;
}

/** Removes every execution and task document (between rounds that create runs). */
export async function clearRuns(db: Db): Promise<void> {
  await Promise.all([
    db.collection(COLLECTIONS.executions).deleteMany({}),
    db.collection(COLLECTIONS.tasks).deleteMany({}),
  ]);
}
