// Standalone reproduction of the MongoDB client stall (docs/reliability.md), not a test. A
// MongoClient with the service's settings (lib/clients/mongo.ts), 40 concurrent operations
// through a toxiproxy proxy, the link cut for 5 s and restored, then up to 60 s for an
// operation to succeed again. Without the watchdog about half the runs on a loaded 2-core
// machine never recover (the monitor writes its check to a destroyed socket and waits forever);
// with it (`--watchdog`, what the service runs) the client is reopened after the stall bound.
//
//   .cache/toxiproxy/toxiproxy-server -host 127.0.0.1 -port 18474 &   # (stop it by its PID)
//   npx tsx test/reliability/support/mongo-monitor-stall.ts [--watchdog] [toxiproxyUrl] [mongoHost:port]
// Prints one line: STALLED or recovered, with the time from the restore to the first success.
import { createMongoClient, monitorStallMs } from '../../../lib/clients/mongo.js';
import { watchMongoClient } from '../../../lib/clients/mongo-watchdog.js';
import { parseConfigSection } from '../../../lib/config.js';

const args = process.argv.slice(2);
const watchdog = args.includes('--watchdog');
const [toxi = 'http://127.0.0.1:18474', upstream = '127.0.0.1:27117'] = args.filter((a) => !a.startsWith('--'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const name = `stall-${Date.now()}`;
const created = await fetch(`${toxi}/proxies`, {
  method: 'POST',
  body: JSON.stringify({ name, listen: '127.0.0.1:0', upstream }),
});
const { listen } = (await created.json()) as { listen: string };
// The service's defaults, the tests' 3 s server selection; MONGO_* variables override them.
const cfg = parseConfigSection('mongo', {
  MONGO_SERVER_SELECTION_TIMEOUT_MS: '3000',
  ...process.env,
  MONGO_URI: `mongodb://${listen}`,
  MONGO_DB: `stall_${Date.now()}`,
});
const client = createMongoClient(cfg);
const dog = watchdog ? watchMongoClient(client, { stallMs: monitorStallMs(cfg) }) : undefined;
const col = client.db(cfg.MONGO_DB).collection<{ _id: number; peid: string; n: number }>('t');
await col.insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: i, peid: `p${i % 200}`, n: 0 })));
const t0 = Date.now();
let stop = false;
let restoredAt = 0;
let firstOkAfterRestore = 0;
let lastError = '';
const op = (i: number) =>
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
      if (restoredAt && !firstOkAfterRestore) firstOkAfterRestore = Date.now();
    } catch (err) {
      lastError = (err as Error).message;
      await sleep(50);
    }
  }
});
const proxy = (enabled: boolean) =>
  fetch(`${toxi}/proxies/${name}`, { method: 'POST', body: JSON.stringify({ enabled }) });
await sleep(1500);
await proxy(false);
await sleep(5000);
await proxy(true);
// Operations that fail until the restore do not count: wait for one that starts after it.
await sleep(1000);
restoredAt = Date.now();
firstOkAfterRestore = 0;
for (let waited = 0; !firstOkAfterRestore && waited < 60_000; waited += 250) await sleep(250);
stop = true;
await Promise.all(workers);
const recovered = firstOkAfterRestore > 0;
console.log(
  `${recovered ? `recovered ${firstOkAfterRestore - restoredAt + 1000} ms after the restore` : 'STALLED for 60 s after the restore'}` +
    ` (watchdog ${watchdog ? `on, stall bound ${monitorStallMs(cfg)} ms, ${dog?.reopens} reopens` : 'off'}; ` +
    `run ${Date.now() - t0} ms; last error: ${lastError.slice(0, 80)})`,
);
dog?.stop();
await col.drop().catch(() => undefined);
await client.close();
await fetch(`${toxi}/proxies/${name}`, { method: 'DELETE' });
process.exit(0);
