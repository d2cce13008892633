/**
 * The bench suite, imported by run.ts once the environment is set: builds the
 * shared pieces (the product's clients with round-trip counting, the declared
 * indexes, the integration stub), runs every case in order, writes the outputs.
 * A case is a BenchCase (bench/lib/types.ts); add new ones to `cases()` below.
 */
import os from 'node:os';
import { ensureIndexes } from '../lib/adapters/mongo/collections.js';
import {
  closeClients,
  createMongoClient,
  getDb,
  getDynamoDb,
  getMongoClient,
  getRedis,
  getSqs,
} from '../lib/clients.js';
import { getConfig, indexSettings } from '../lib/config.js';
import { startStub } from '../test/support/stub-server.js';
import { coldStartCase } from './cases/cold-start.js';
import { e2eThroughputCase } from './cases/e2e-throughput.js';
import { forEachOverheadCase } from './cases/for-each-overhead.js';
import { integrationCallsCase } from './cases/integration-calls.js';
import { memoryCase } from './cases/memory.js';
import { mixedBatchCase } from './cases/mixed-batch.js';
import { playbookReadsCase } from './cases/playbook-reads.js';
import { runStartsCase } from './cases/run-starts.js';
import { statusWritesCase } from './cases/status-writes.js';
import { taskFanoutCase } from './cases/task-fanout.js';
import { topPlaybooksCase } from './cases/top-playbooks.js';
import { countRoundTrips } from './lib/counters.js';
import type { BenchEnv } from './lib/env.js';
import { deleteKeys } from './lib/redis-keys.js';
import { buildResults, type CaseRun, writeOutputs } from './lib/report.js';
import type { BenchCase } from './lib/types.js';

export interface SuiteOptions {
  quick: boolean;
  only: string[] | null;
  outDir: string;
  benchDir: string;
  log: (m: string) => void;
}

/** Runs the suite; returns the process exit code. */
export async function runSuite(env: BenchEnv, opts: SuiteOptions): Promise<number> {
  const started = Date.now();
  const loadStart = os.loadavg();
  const counter = countRoundTrips(getMongoClient(), getSqs(), getRedis(), getDynamoDb());
  const db = getDb();
  await ensureIndexes(db, indexSettings(getConfig('audit')));
  // The bench's own client for waiting on runs and checking results, so that is never counted as the product's.
  const observerClient = createMongoClient(getConfig('mongo'));
  const observer = observerClient.db(env.dbName);
  const stub = await startStub();

  const all: BenchCase[] = [
    statusWritesCase(db, counter),
    topPlaybooksCase(db),
    playbookReadsCase(db),
    taskFanoutCase({ observer, env, stub, counter }),
    runStartsCase({ observer, env, counter }),
    integrationCallsCase(stub),
    memoryCase({ observer, env, stub, benchDir: opts.benchDir }),
    coldStartCase({ env, benchDir: opts.benchDir }),
    e2eThroughputCase({ observer, env, stub, counter, benchDir: opts.benchDir }),
    mixedBatchCase({ observer, env, stub }),
    forEachOverheadCase({ observer, env, counter }),
  ];
  const unknown = (opts.only ?? []).filter((id) => !all.some((c) => c.id === id));
  if (unknown.length > 0)
    throw new Error(`unknown case(s): ${unknown.join(', ')}; known: ${all.map((c) => c.id).join(', ')}`);
  const selected = opts.only ? all.filter((c) => opts.only?.includes(c.id)) : all;

  const runs: CaseRun[] = [];
  try {
    for (const bench of selected) {
      const t = Date.now();
      opts.log(`case ${bench.id}: ${bench.title}`);
      stub.reset();
      try {
        runs.push({ bench, outcome: await bench.run({ quick: opts.quick, log: opts.log }) });
        opts.log(`case ${bench.id} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        opts.log(`case ${bench.id} FAILED: ${message}`);
        runs.push({ bench, outcome: null, error: err instanceof Error ? err.message : String(err) });
        await env.purgeQueue().catch(() => undefined);
      }
    }
  } finally {
    await stub.close();
    // The product namespaces its Redis keys (caches, fairness slots) by database name.
    await deleteKeys(getRedis(), `${env.dbName}:*`).catch(() => undefined);
    await db.dropDatabase().catch(() => undefined);
    await observerClient.close();
    await closeClients();
  }

  const mode = opts.only ? 'partial' : opts.quick ? 'quick' : 'full';
  const results = buildResults(runs, mode, started, loadStart);
  const files = await writeOutputs(opts.outDir, results, runs);
  for (const r of results.cases) {
    const v = r.skipped ? `skipped (${r.skipped})` : r.pass === null ? 'info' : r.pass ? 'pass' : 'MISS';
    opts.log(
      `${r.name.padEnd(34)} ${String(r.baseline ?? '-').padStart(10)} -> ${String(r.optimized ?? '-').padStart(10)} ${r.unit.padEnd(36)} ratio ${String(r.ratio ?? '-').padStart(7)}  target ${r.target.padEnd(14)} ${v}`,
    );
  }
  opts.log(`wrote ${files.join(', ')}`);
  return results.errors.length > 0 ? 1 : 0;
}
