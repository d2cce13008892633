/**
 * The e2e-throughput workload, shared by its two shapes (the functions as container processes;
 * everything in the bench process): runs of 10 parallel 100 ms http tasks + a join, started
 * through runPlaybook with an Idempotency-Key, `IN_FLIGHT` at once, or one at a time (idle).
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Stub } from '../../test/support/stub-server.js';
import type { RunTracker } from './run-tracker.js';
import { apiEvent, type Caller } from './workload.js';

export const PLAYBOOK = 'e2e-fanout-10';
export const STUB_DELAY_MS = 100;
export const WIDTH = 10;
export const IN_FLIGHT = 50;
/**
 * Runs in flight per tenant = IN_FLIGHT / TENANTS = 2: at most 22 tasks of a tenant ready, under the
 * default cap of 50 (with 10 tenants, 5 runs = 50 calls + their joins would exceed it; see the METHOD).
 */
export const TENANTS = Number(process.env.BENCH_E2E_TENANTS ?? 25);

export const TENANT_CALLERS: Caller[] = Array.from({ length: TENANTS }, (_, i) => ({
  tenant_code: `e2e-tenant-${i}`,
  sub: 'e2e-analyst',
}));

/** Invokes runPlaybook with an API Gateway event (in this process or in its container); resolves with its answer. */
export type StartInvoker = (event: APIGatewayProxyEventV2) => Promise<unknown>;

/** POST /runplaybook for `caller` with a fresh Idempotency-Key; returns the peid. */
export async function startRun(invoke: StartInvoker, caller: Caller): Promise<string> {
  const event = apiEvent({
    method: 'POST',
    route: '/runplaybook',
    path: '/runplaybook',
    caller,
    headers: { 'idempotency-key': randomUUID() },
    body: { playbook_name: PLAYBOOK, alert_id: `alert-${randomUUID()}`, alert: { src_ip: '203.0.113.7' } },
  });
  const res = (await invoke(event)) as { statusCode: number; body?: string };
  if (res.statusCode !== 202) throw new Error(`runplaybook answered ${res.statusCode}: ${res.body}`);
  return (JSON.parse(res.body ?? '{}') as { peid: string }).peid;
}

/** One run, start request to the product's completeddate, in ms. */
export async function oneRun(tracker: RunTracker, invoke: StartInvoker, caller: Caller): Promise<number> {
  const sent = Date.now();
  const peid = await startRun(invoke, caller);
  const done = await tracker.wait(peid);
  if (done.execution_status !== 'completed') throw new Error(`run ${peid} ended ${done.execution_status}`);
  return done.completeddate - sent;
}

export interface Driven {
  runs: number;
  /** runs / (last completion - first start). */
  runsPerS: number;
  latencies: number[];
}

/** `n` runs, IN_FLIGHT at once; worker w always starts runs of tenant w % TENANTS. */
export async function driveRuns(n: number, tracker: RunTracker, invoke: StartInvoker): Promise<Driven> {
  const latencies: number[] = [];
  let next = 0;
  let lastDone = 0;
  const firstSent = Date.now();
  const worker = async (w: number) => {
    const caller = TENANT_CALLERS[w % TENANTS] as Caller;
    while (next < n) {
      next += 1;
      latencies.push(await oneRun(tracker, invoke, caller));
      lastDone = Math.max(lastDone, Date.now());
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n) }, (_, w) => worker(w)));
  return { runs: n, runsPerS: (n * 1000) / (lastDone - firstSent), latencies };
}

export interface IdleRuns {
  latencies: number[];
  /** The stub's highest number of calls at once, per run. */
  overlap: number[];
  stubCalls: number;
}

/** `count` runs one at a time (tenant 0), with the stub's overlap of each. */
export async function idleRuns(
  count: number,
  tracker: RunTracker,
  invoke: StartInvoker,
  stub: Stub,
): Promise<IdleRuns> {
  const out: IdleRuns = { latencies: [], overlap: [], stubCalls: 0 };
  for (let i = 0; i < count; i++) {
    stub.reset();
    out.latencies.push(await oneRun(tracker, invoke, TENANT_CALLERS[0] as Caller));
    out.overlap.push(stub.maxConcurrent);
    out.stubCalls += stub.calls.length;
  }
  return out;
}
