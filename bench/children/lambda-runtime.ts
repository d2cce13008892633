/**
 * The bench's stand-in for the Lambda runtime in a container process: the bench (playing the
 * Lambda service) sends an invocation over the IPC channel, the runtime runs the function's real
 * handler with a Lambda context and sends the answer back, as the runtime API would. It also
 * counts what the bench reports per run: the product clients' round trips (bench/lib/counters.ts),
 * the process's CPU, and the CPU while an invocation is in flight (outside of one, a Lambda
 * container is frozen). Entries: execute-task-container.ts, run-playbook-container.ts.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { closeClients } from '../../lib/clients/registry.js';
import { lambdaContext } from '../../test/support/lambda-context.js';
import type { ContainerReply, ContainerRequest, ContainerStats } from '../lib/container-protocol.js';
import type { RoundTripCounter } from '../lib/counters.js';

type Handler = (event: never, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

/** Starts the CPU profiler when asked to; returns what stops it and writes the profile. */
async function startProfiler(functionName: string): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_CHILD_CPU_PROF_DIR;
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(path.join(dir, functionName, `${process.pid}.cpuprofile`), JSON.stringify(profile));
  };
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Serves invocations of `handler` (function `functionName`, `timeoutMs` per invocation) until told to stop. */
export async function serveInvocations(
  functionName: string,
  timeoutMs: number,
  handler: unknown,
  counter: RoundTripCounter,
): Promise<void> {
  const stopProfiler = await startProfiler(functionName);
  const send = (m: ContainerReply) => process.send?.(m);
  const trips = counter.start();
  let inFlight = 0;
  let busySinceCpu = 0;
  let busySinceWall = 0;
  const stats: Omit<ContainerStats, 'cpuMs' | 'trips'> = {
    pid: process.pid,
    invocationCpuMs: 0,
    invocationWallMs: 0,
    invocations: 0,
    records: 0,
  };
  const invoke = async (id: number, event: unknown) => {
    if (inFlight === 0) {
      busySinceCpu = cpuNow();
      busySinceWall = performance.now();
    }
    inFlight += 1;
    stats.invocations += 1;
    const records = (event as { Records?: unknown[] }).Records;
    if (Array.isArray(records)) stats.records += records.length;
    let reply: ContainerReply;
    try {
      const response = await (handler as Handler)(event as never, lambdaContext(functionName, timeoutMs));
      reply = { t: 'done', id, response };
    } catch (err) {
      reply = { t: 'done', id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
    inFlight -= 1;
    if (inFlight === 0) {
      stats.invocationCpuMs += cpuNow() - busySinceCpu;
      stats.invocationWallMs += performance.now() - busySinceWall;
    }
    send(reply);
  };
  process.on('message', (m: ContainerRequest) => {
    if (m.t === 'invoke') void invoke(m.id, m.event);
    else if (m.t === 'stats') send({ t: 'stats', id: m.id, stats: { ...stats, cpuMs: cpuNow(), trips: trips() } });
    else if (m.t === 'stop') void stopProfiler().finally(() => closeClients().finally(() => process.exit(0)));
  });
  // The bench went away without stopping this container.
  process.on('disconnect', () => process.exit(0));
  send({ t: 'ready', pid: process.pid });
}
