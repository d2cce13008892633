/**
 * Keeps a container's MongoClient usable after network faults (docs/reliability.md,
 * "MongoDB client stall after a cut"). Two driver behaviours (mongodb 7.9.0) otherwise
 * break a warm container until it is recycled:
 *
 * - A stuck server monitor. When a peer closes the monitor's socket and a check is requested
 *   in the same tick (operations failing on the pool's sockets closed at the same moment),
 *   the monitor writes its `hello` to the destroyed socket: `write()` returns false, no
 *   'error', 'drain' or 'timeout' ever follows, and the check waits forever. The monitor
 *   runs one check at a time, so the server is never described again and every operation
 *   fails server selection. Seen here as a heartbeat started and never finished. A check sent
 *   on an open connection that is still pending two ticks after that connection closed is
 *   stuck (a check reading its answer fails at once when its connection closes; this reads
 *   driver internals, defensively). Whatever the cause, a check takes at most
 *   2 x connectTimeoutMS when polling (TCP connect, then the handshake), so one pending for
 *   `stallMs` (more than that) is stuck too. The topology is then reopened: `close()` (not
 *   awaited by anyone) and `connect()` on the same client, which the driver supports and which
 *   keeps every Db and Collection object valid.
 * - A failed connect. When the first operation's connect fails (MongoDB unreachable at a
 *   cold start, or a reopen that ran during an outage), the client keeps the closed topology
 *   and every later operation fails with "Topology is closed". An unexpected
 *   'topologyClosed' event therefore triggers `connect()` again after `retryMs`.
 */
import type { MongoClient } from 'mongodb';

export interface WatchdogOptions {
  /** A heartbeat pending this long is a stuck monitor (0: never reopen, only reconnect after a failed connect). */
  stallMs: number;
  /** Delay before connecting again after a connect failed. */
  retryMs?: number;
  /** Watchdog period; time frozen between Lambda invocations is not counted. */
  tickMs?: number;
  /** Also reopen as soon as a check sent on an open connection is pending after it closed (driver internals; default true). */
  closedSocketCheck?: boolean;
  log?: (message: string, details: Record<string, unknown>) => void;
}

export interface MongoWatchdog {
  /** Topology reopens after a stuck monitor. */
  readonly reopens: number;
  /** Connects retried after a failed connect. */
  readonly reconnects: number;
  /** Stops watching (before the client is closed for good). */
  stop(): void;
}

/** Watches `client` (SDAM events, one internal read) and reopens or reconnects it when needed. */
export function watchMongoClient(client: MongoClient, opts: WatchdogOptions): MongoWatchdog {
  const tickMs =
    opts.tickMs ?? (opts.stallMs > 0 ? Math.max(100, Math.min(1_000, Math.floor(opts.stallMs / 4))) : 1_000);
  const retryMs = opts.retryMs ?? 1_000;
  const log = opts.log ?? (() => undefined);
  /** Server address -> its pending check: age (`ms` as of `at`), the open connection it was sent on, if any. */
  const pending = new Map<string, { ms: number; at: number; sentOn?: MonitorConnection; closedTicks: number }>();
  const closedSocketCheck = opts.closedSocketCheck ?? true;
  let stopped = false;
  let closing = false;
  let reopens = 0;
  let reconnects = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const started = (e: { connectionId: string }) => {
    if (pending.has(e.connectionId)) return;
    // Emitted just before the monitor picks its path: an open connection now is the one the check uses.
    const conn = closedSocketCheck ? monitorConnection(client, e.connectionId) : undefined;
    const sentOn = conn?.closed === false ? conn : undefined;
    pending.set(e.connectionId, { ms: 0, at: performance.now(), sentOn, closedTicks: 0 });
  };
  const finished = (e: { connectionId: string }) => pending.delete(e.connectionId);
  const removed = (e: { address: string }) => pending.delete(e.address);
  const connect = () =>
    client.connect().catch((err: Error) => {
      log('mongodb connect failed, retrying', { error: err.message });
      closed();
    });
  const closed = () => {
    if (stopped || closing || retryTimer) return;
    // Not our close: a connect failed and left the client on a closed topology (or none).
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (stopped || closing) return;
      reconnects += 1;
      void connect();
    }, retryMs).unref();
  };

  const reopen = (address: string, pendingMs: number) => {
    closing = true;
    pending.clear();
    reopens += 1;
    log('mongodb monitor stuck, reopening the client', { address, pendingMs });
    const slow = setTimeout(() => log('mongodb client close still pending', { address }), 10_000).unref();
    client
      .close()
      .catch((err: Error) => log('mongodb client close failed', { error: err.message }))
      .finally(() => {
        clearTimeout(slow);
        closing = false;
        if (!stopped) void connect();
      });
  };

  const timer = setInterval(() => {
    if (closing || opts.stallMs <= 0) return;
    const now = performance.now();
    for (const [address, check] of pending) {
      // Time frozen between invocations (or a starved event loop) ages a check by two periods at most.
      check.ms += Math.min(now - check.at, 2 * tickMs);
      check.at = now;
      // A check reading its answer fails at once when its connection closes; one still pending
      // two ticks after its connection closed is stuck writing to it.
      check.closedTicks = check.sentOn?.closed === true ? check.closedTicks + 1 : 0;
      if (check.ms >= opts.stallMs || check.closedTicks >= 2) return reopen(address, Math.round(check.ms));
    }
  }, tickMs).unref();

  client.on('serverHeartbeatStarted', started);
  client.on('serverHeartbeatSucceeded', finished);
  client.on('serverHeartbeatFailed', finished);
  client.on('serverClosed', removed);
  client.on('topologyClosed', closed);

  return {
    get reopens() {
      return reopens;
    },
    get reconnects() {
      return reconnects;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(retryTimer);
      client.off('serverHeartbeatStarted', started);
      client.off('serverHeartbeatSucceeded', finished);
      client.off('serverHeartbeatFailed', finished);
      client.off('serverClosed', removed);
      client.off('topologyClosed', closed);
    },
  };
}

type MonitorConnection = { closed?: unknown };

/**
 * The connection the monitor of the server at `address` holds (mongodb 7.x internals, read
 * defensively: undefined when their shape differs, which leaves only the time bound).
 */
function monitorConnection(client: MongoClient, address: string): MonitorConnection | undefined {
  type Internals = { topology?: { s?: { servers?: unknown } } };
  const servers = (client as unknown as Internals).topology?.s?.servers;
  if (!(servers instanceof Map)) return undefined;
  const conn = (servers.get(address) as { monitor?: { connection?: unknown } } | undefined)?.monitor?.connection;
  return typeof conn === 'object' && conn !== null ? (conn as MonitorConnection) : undefined;
}
