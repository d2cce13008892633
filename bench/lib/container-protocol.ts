/**
 * The messages between the bench and its container processes (bench/children/lambda-runtime.ts):
 * the bench plays the Lambda service (it invokes), each child plays one function's container.
 */
import type { RoundTrips } from './counters.js';

export type ContainerRequest = { t: 'invoke'; id: number; event: unknown } | { t: 'stats'; id: number } | { t: 'stop' };

export type ContainerReply =
  | { t: 'ready'; pid: number }
  | { t: 'done'; id: number; response?: unknown; error?: string }
  | { t: 'stats'; id: number; stats: ContainerStats };

/** A container's counters since it started (the bench subtracts two readings). */
export interface ContainerStats {
  pid: number;
  /** CPU of the whole process (user + system, every thread), ms. */
  cpuMs: number;
  /** CPU while at least one invocation was in flight, ms: the handler's, as Lambda bills it. */
  invocationCpuMs: number;
  /** Wall time with at least one invocation in flight, ms. */
  invocationWallMs: number;
  invocations: number;
  /** Records handed over in SQS events. */
  records: number;
  /** Round trips of the product's own clients in this process. */
  trips: RoundTrips;
}
