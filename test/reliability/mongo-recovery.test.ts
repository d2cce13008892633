/**
 * The container's MongoClient heals itself after a cut (lib/clients/mongo-watchdog.ts,
 * docs/reliability.md "MongoDB client stall after a cut"): the client of lib/clients/mongo.ts,
 * exactly as the functions use it, behind a toxiproxy link to the real MongoDB-compatible server.
 *
 *   stuck monitor    -> the driver's race (its check written to a socket the peer closed, in the
 *                       same tick) made deterministic, with a cut: the watchdog sees the check
 *                       pending on a closed connection and reopens the client within 2 s; with
 *                       that check off, every operation fails server selection until the stall
 *                       bound, then the client is reopened and they succeed
 *   cold start, down -> the first connect fails (the driver keeps a closed topology); once the
 *                       link is back the watchdog's reconnect makes operations succeed
 *   cuts under load  -> 40 concurrent operations, the link cut for 5 s twice: each time an
 *                       operation succeeds within the stall bound after the restore
 */
import { randomUUID } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createMongoClient, getDb, getMongoClient, getMongoWatchdog, monitorStallMs } from '../../lib/clients/mongo.js';
import { watchMongoClient } from '../../lib/clients/mongo-watchdog.js';
import { closeClients } from '../../lib/clients.js';
import { getConfig } from '../../lib/config.js';
import { testEndpoints } from '../support/endpoints.js';
import { Toxiproxy } from '../support/toxiproxy.js';
import { sleep } from './support/fixtures.js';

// Before the product client exists (created lazily from the environment). A 2 s connect timeout
// makes the stall bound 9 s (2 x 2 s + 5 s), in scale with the tests' 3 s server selection.
const toxi = new Toxiproxy(inject('toxiproxyUrl'));
const link = await toxi.createProxy(
  `mongo-recovery-${randomUUID().slice(0, 8)}`,
  new URL(testEndpoints().mongoUri).host,
);
process.env.MONGO_URI = `mongodb://${link.listen}`;
process.env.MONGO_CONNECT_TIMEOUT_MS = '2000';
const STALL_MS = monitorStallMs(getConfig('mongo'));

afterAll(async () => {
  await link.enable().catch(() => undefined);
  await closeClients();
  await link.remove();
});

const col = () => getDb().collection<{ _id: string; n: number }>('recovery');
const ping = () => col().findOneAndUpdate({ _id: 'k' }, { $inc: { n: 1 } }, { upsert: true });

/** Polls with single operations until one succeeds; returns how long it took. */
async function msUntilOk(timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    try {
      await ping();
      return Date.now() - t0;
    } catch (err) {
      last = (err as Error).message;
      await sleep(200);
    }
  }
  throw new Error(`no MongoDB operation succeeded within ${timeoutMs} ms; last error: ${last}`);
}

/**
 * What a cut does to the monitor when the race is lost: its socket is destroyed by the peer
 * (the 'close' event still queued) and a check is requested in the same tick, so the check's
 * `hello` is written to the destroyed socket and never answered. Driver internals (7.9.0).
 */
function loseTheRace(client: MongoClient): void {
  const topology = (client as unknown as { topology: { s: { servers: Map<string, unknown> } } }).topology;
  const [server] = topology.s.servers.values() as Iterable<{
    monitor: { connection: { socket: { destroy(): void } } | null };
    requestCheck(): void;
  }>;
  if (!server?.monitor.connection) throw new Error('driver internals changed: no monitor connection to break');
  server.monitor.connection.socket.destroy();
  server.requestCheck();
}

/**
 * Loses the race for `client`'s monitor while an operation is in flight (held by latency), then
 * cuts the link for 1 s, as a real cut does: the server is marked unknown and its check is stuck.
 * Returns when the link is back, with the time the monitor got stuck.
 */
async function stickTheMonitor(client: MongoClient, op: () => Promise<unknown>): Promise<number> {
  await op();
  // The monitor's first check is done and older than its 500 ms minimum interval.
  await sleep(1_000);
  await link.latency(1_000);
  const during = op().then(
    () => 'ok',
    (err: Error) => err.name,
  );
  await sleep(300);
  const stuckAt = Date.now();
  loseTheRace(client);
  await link.disable();
  await sleep(1_000);
  await link.clear();
  await link.enable();
  expect(await during).not.toBe('ok');
  return stuckAt;
}

describe('the container MongoClient after a cut', () => {
  it('a stuck server monitor: the watchdog sees its check pending on a closed connection and reopens the client', async () => {
    const client = getMongoClient();
    const reopens = getMongoWatchdog()?.reopens ?? 0;
    const stuckAt = await stickTheMonitor(client, ping);
    const tookMs = await msUntilOk(STALL_MS + 15_000);
    const sinceStuck = Date.now() - stuckAt;
    console.log(`[mongo-recovery] stuck monitor: operations succeed ${sinceStuck} ms after it got stuck`);
    expect(getMongoWatchdog()?.reopens).toBe(reopens + 1);
    // Two watchdog ticks (1 s each), not the stall bound.
    expect(sinceStuck).toBeLessThan(STALL_MS);
    expect(tookMs).toBeLessThan(STALL_MS);
    // The Db and Collection objects the stores hold keep working on the reopened client.
    expect(getMongoClient()).toBe(client);
  }, 60_000);

  it('a stuck server monitor, internals not read: operations fail server selection until the stall bound', async () => {
    const client = createMongoClient(getConfig('mongo'));
    const dog = watchMongoClient(client, { stallMs: STALL_MS, closedSocketCheck: false });
    const own = () => client.db(getConfig('mongo').MONGO_DB).collection('recovery').findOne({});
    try {
      const stuckAt = await stickTheMonitor(client, own);
      // The link is back, but the client cannot select the server: nothing describes it any more.
      const early = await own().then(
        () => 'ok',
        (err: Error) => err.name,
      );
      expect(early).toBe('MongoServerSelectionError');
      expect(dog.reopens).toBe(0);
      const t0 = Date.now();
      for (;;) {
        if (
          await own().then(
            () => true,
            () => false,
          )
        )
          break;
        if (Date.now() - t0 > STALL_MS + 15_000) throw new Error('the client did not recover');
        await sleep(200);
      }
      const sinceStuck = Date.now() - stuckAt;
      console.log(
        `[mongo-recovery] stuck monitor, time bound only: reopened ${sinceStuck} ms after it got stuck (bound ${STALL_MS} ms)`,
      );
      expect(dog.reopens).toBe(1);
      expect(sinceStuck).toBeGreaterThanOrEqual(STALL_MS);
    } finally {
      dog.stop();
      await client.close();
    }
  }, 60_000);

  it('a cold start while MongoDB is unreachable: operations succeed once the link is back', async () => {
    await closeClients();
    await link.disable();
    try {
      // The first operation connects, fails server selection and leaves a closed topology.
      await expect(ping()).rejects.toThrow();
      await sleep(500);
      await expect(ping()).rejects.toThrow();
    } finally {
      await link.enable();
    }
    const tookMs = await msUntilOk(20_000);
    console.log(`[mongo-recovery] cold start while down: first success ${tookMs} ms after the restore`);
    expect(getMongoWatchdog()?.reconnects).toBeGreaterThan(0);
  }, 60_000);

  it('cuts under load: an operation succeeds within the stall bound after each restore', async () => {
    await msUntilOk(10_000);
    const before = getMongoWatchdog()?.reopens ?? 0;
    const results: number[] = [];
    for (let cycle = 0; cycle < 2; cycle++) {
      let stop = false;
      let i = 0;
      const workers = Array.from({ length: 40 }, async () => {
        while (!stop) {
          const n = i++;
          await (n % 2 === 0
            ? col()
                .find({ n: { $gte: n % 50 } })
                .limit(5)
                .toArray()
            : ping()
          ).catch(() => sleep(50));
        }
      });
      await sleep(1_500);
      await link.disable();
      await sleep(5_000);
      await link.enable();
      try {
        results.push(await msUntilOk(STALL_MS + 15_000));
      } finally {
        stop = true;
        await Promise.all(workers);
      }
    }
    const reopened = (getMongoWatchdog()?.reopens ?? 0) - before;
    console.log(
      `[mongo-recovery] 2 cuts under load: first success ${results.join(' / ')} ms after the restores, ${reopened} reopens`,
    );
  }, 120_000);
});
