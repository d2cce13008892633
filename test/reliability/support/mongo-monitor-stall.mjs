// Standalone reproduction of the MongoDB client stall seen by network-faults.test.ts (not a test).
// A MongoClient with the service's settings, 40 concurrent operations through a toxiproxy proxy,
// the link cut for 5 s and restored: in about half the runs on a loaded 2-core machine the
// client never recovers (every operation fails server selection with the old "connection N
// closed" error; the server monitor stays in state "monitoring" with no socket open).
//
//   .cache/toxiproxy/toxiproxy-server -host 127.0.0.1 -port 18474 &   # (stop it by its PID)
//   node test/reliability/support/mongo-monitor-stall.mjs http://127.0.0.1:18474 [mongoHost:port]
import { MongoClient } from 'mongodb';

const toxi = process.argv[2] ?? 'http://127.0.0.1:18474';
const upstream = process.argv[3] ?? '127.0.0.1:27117';
const name = `stall-${Date.now()}`;
const created = await fetch(`${toxi}/proxies`, {
  method: 'POST',
  body: JSON.stringify({ name, listen: '127.0.0.1:0', upstream }),
});
const { listen } = await created.json();
const client = new MongoClient(`mongodb://${listen}`, {
  maxPoolSize: 10,
  connectTimeoutMS: 10_000,
  socketTimeoutMS: 30_000,
  serverSelectionTimeoutMS: 3_000,
  heartbeatFrequencyMS: 10_000,
  retryWrites: true,
  retryReads: true,
});
const col = client.db(`stall_${Date.now()}`).collection('t');
await col.insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: i, peid: `p${i % 200}`, n: 0 })));
const t0 = Date.now();
let stop = false;
let ok = 0;
let lastError = [0, ''];
const op = (i) =>
  i % 3 === 0
    ? col.find({ peid: { $in: [`p${i % 200}`, `p${(i + 1) % 200}`] } }).toArray()
    : i % 3 === 1
      ? col.bulkWrite([{ updateOne: { filter: { _id: i % 2000 }, update: { $inc: { n: 1 } } } }], { ordered: false })
      : col.findOneAndUpdate({ _id: i % 2000 }, { $inc: { n: 1 } });
let i = 0;
const workers = Array.from({ length: 40 }, async () => {
  while (!stop) {
    try {
      await op(i++);
      ok++;
    } catch (err) {
      lastError = [Date.now() - t0, err.message];
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});
const proxy = (enabled) => fetch(`${toxi}/proxies/${name}`, { method: 'POST', body: JSON.stringify({ enabled }) });
await new Promise((r) => setTimeout(r, 1500));
await proxy(false);
console.log('cut at', Date.now() - t0, 'ms');
await new Promise((r) => setTimeout(r, 5000));
await proxy(true);
console.log('restored at', Date.now() - t0, 'ms');
await new Promise((r) => setTimeout(r, 20_000));
stop = true;
await Promise.all(workers);
const server = [...client.topology.s.servers.values()][0];
console.log(
  `${ok} operations ok; last error at ${lastError[0]} ms: ${lastError[1]}; ` +
    `monitor ${server?.monitor?.s?.state}, server ${server?.description?.type} (updated at ${server?.description?.lastUpdateTime})`,
);
await col.drop().catch(() => undefined);
await client.close(true);
await fetch(`${toxi}/proxies/${name}`, { method: 'DELETE' });
