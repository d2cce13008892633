/**
 * Reading a big run is bounded. A run of 3,000 loop items with 32 KiB outputs each (~94 MiB of
 * item outputs in the database) is swept by the reaper, read and redriven by the real handlers
 * in a process with a 512 MB heap: none of them loads the item outputs (heap growth measured).
 * A run whose answer would pass Lambda's 6 MB response limit answers with the largest outputs
 * left out and says so. One run that makes the reaper throw does not stop its sweep.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import type { ExecutionRecord, TaskRecord } from '../../lib/engine/model.js';
import { planRun } from '../../lib/engine/start-run.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { lambdaContext } from '../support/lambda-context.js';
import { directDb, runProblems, sleep, waitRun } from './support/fixtures.js';
import { queueDepth } from './support/queue.js';
import { shapePlaybook } from './support/shapes.js';

// A run without progress for 1 s is stale (deployed: 20 min).
process.env.REAP_STALE_AFTER_MS = '1000';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Lambda's limit on a synchronous invocation's response payload. */
const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;
const LOOPS = 3;
const ITEMS = 1000;
const ITEM_OUTPUT_BYTES = 32 * 1024;
/**
 * A third of the item outputs (~94 MiB). Measured: ~12-15 MiB once outputs are never read (the
 * items' states, the answer, code paths run for the first time); ~114 MiB when they were.
 */
const HEAP_GROWTH_BOUND_MIB = 32;

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
});
afterAll(async () => {
  await h.close();
  await direct.close();
});

/** Stores a run of `tasks` (playbook task bodies) as planRun writes it, under the harness's tenant. */
async function storeRun(tasks: unknown[], peid: string, now: number) {
  const { parsePlaybook } = await import('../../lib/domain/playbook-validation.js');
  const def = parsePlaybook({ name: 'big', tasks });
  const playbook = { ...def, pid: 'pid-big', tenant_code: 'tenant-a', version: 1, createddate: now, updateddate: now };
  const plan = planRun(
    playbook,
    { playbook_name: 'big', alert_id: 'a-big', alert: {} },
    { tenant_code: 'tenant-a', sub: 'analyst-a' },
    peid,
    now,
  );
  return plan;
}

async function insert(exec: ExecutionRecord, tasks: TaskRecord[]): Promise<void> {
  await direct.db.collection(COLLECTIONS.executions).insertOne({ _id: exec.peid as never, ...exec });
  for (let i = 0; i < tasks.length; i += 200) {
    await direct.db
      .collection(COLLECTIONS.tasks)
      .insertMany(tasks.slice(i, i + 200).map((t) => ({ _id: `${t.peid}:${t.task_id}` as never, ...t })));
  }
}

/** Runs big-run-reader.ts in a child process with a 512 MB heap. */
function readInChild(
  step: 'reap' | 'get' | 'redrive',
  peid: string,
): Promise<{ result: Record<string, unknown>; heapGrowthMiB: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--max-old-space-size=512',
        '--expose-gc',
        '--import',
        'tsx',
        'test/reliability/support/big-run-reader.ts',
        step,
        peid,
      ],
      { cwd: ROOT, env: { ...process.env, BIG_RUN_TOKEN: h.tokenA }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"step"'));
      if (code !== 0 || !line) reject(new Error(`reader ${step} exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(line) as { result: Record<string, unknown>; heapGrowthMiB: number });
    });
  });
}

/** Every message on the queue is lost (purged, and whatever is still visible received away). */
async function loseMessages(): Promise<void> {
  const QueueUrl = process.env.TASK_QUEUE_URL ?? '';
  await h.sqs.send(new PurgeQueueCommand({ QueueUrl }));
  for (let i = 0; i < 5 && (await queueDepth(h.sqs, QueueUrl)) > 0; i++)
    await h.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }));
}

/** The big run's reaper sweep, then (failed) its read and its redrive, each in a 512 MB process. */
async function sweepReadRedrive(peid: string, old: number): Promise<void> {
  const last = LOOPS - 1;
  const stored = await direct.db.collection(COLLECTIONS.tasks).countDocuments({ peid, item_of: { $ne: null } });
  expect(stored).toBe(LOOPS * ITEMS);

  const reaped = await readInChild('reap', peid);
  expect(reaped.result.examined).toBe(1);
  expect(reaped.result.requeued).toBe(10);
  expect(reaped.heapGrowthMiB).toBeLessThan(HEAP_GROWTH_BOUND_MIB);

  // The run fails on its lost items; a reader and a redrive of it.
  await direct.db
    .collection(COLLECTIONS.executions)
    .updateOne(
      { peid },
      { $set: { execution_status: 'failed', error: { code: 'TASK_FAILED', message: 'x' }, completeddate: old } },
    );
  await direct.db
    .collection(COLLECTIONS.tasks)
    .updateMany(
      { peid, $or: [{ task_id: `l${last}` }, { item_of: `l${last}`, status: 'queued' }] },
      { $set: { status: 'failed', error: { code: 'HTTP_STATUS', message: 'x' }, finished_at: old } },
    );
  const read = await readInChild('get', peid);
  const body = read.result.body as { tasks: Array<{ items?: unknown[]; status: string }>; outputs_omitted?: boolean };
  expect(read.result.status).toBe(200);
  expect(body.tasks.map((t) => t.items?.length)).toEqual([ITEMS, ITEMS, ITEMS]);
  expect(body.tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'failed']);
  expect(read.heapGrowthMiB).toBeLessThan(HEAP_GROWTH_BOUND_MIB);

  const redriven = await readInChild('redrive', peid);
  expect(redriven.result.status).toBe(202);
  expect((redriven.result.body as { attempt: number }).attempt).toBe(2);
  expect(redriven.heapGrowthMiB).toBeLessThan(HEAP_GROWTH_BOUND_MIB);
  const again = await direct.db
    .collection(COLLECTIONS.tasks)
    .countDocuments({ peid, item_of: `l${last}`, status: { $in: ['queued', 'pending'] } });
  expect(again).toBe(10);
  const growth = [reaped, read, redriven].map((r) => r.heapGrowthMiB.toFixed(1));
  console.log(
    `[big-runs] ${LOOPS * ITEMS} items x ${ITEM_OUTPUT_BYTES / 1024} KiB: heap growth (MiB) reap ${growth[0]}, get ${growth[1]}, redrive ${growth[2]}`,
  );
}

describe('big runs', () => {
  it('a run of 3,000 items of 32 KiB: reaper, GET and redrive never load the item outputs (512 MB heap)', async () => {
    const peid = '0b1b0000-0000-4000-8000-000000000001';
    const old = Date.now() - 60_000;
    const loops = Array.from({ length: LOOPS }, (_, i) => ({ id: `l${i}`, type: 'noop', for_each: 'alert.list' }));
    const plan = await storeRun(loops, peid, old);
    const blob = 'x'.repeat(ITEM_OUTPUT_BYTES);
    const last = LOOPS - 1;
    const lost = Array.from({ length: 10 }, (_, i) => ITEMS - 10 + i);
    // l0 and l1 finished; l2 waits for its last 10 items, queued long ago (their messages lost).
    const graph = plan.tasks.map((t, i) => ({
      ...t,
      status: i === last ? ('running' as const) : ('succeeded' as const),
      attempts: 1,
      output_json: i === last ? null : JSON.stringify({ preview: 'x'.repeat(1000) }),
      items_total: ITEMS,
      open_items: i === last ? lost : [],
      started_at: old,
      finished_at: i === last ? null : old,
    }));
    const items: TaskRecord[] = [];
    for (let l = 0; l < LOOPS; l++) {
      const loop = plan.tasks[l] as TaskRecord;
      const { for_each: _f, ...def } = loop.def;
      for (let i = 0; i < ITEMS; i++) {
        const open = l === last && lost.includes(i);
        items.push({
          ...loop,
          task_id: `l${l}[${i}]`,
          def: def as TaskRecord['def'],
          dependents: [],
          status: open ? 'queued' : 'succeeded',
          attempts: open ? 0 : 1,
          output_json: open ? null : JSON.stringify({ i, blob }),
          item_of: `l${l}`,
          item_index: i,
          item_json: JSON.stringify(i),
          started_at: open ? null : old,
          finished_at: open ? null : old,
        });
      }
    }
    await insert({ ...plan.exec, open_tasks: [`l${last}`] }, [...graph, ...items]);
    try {
      await sweepReadRedrive(peid, old);
    } finally {
      await direct.db.collection(COLLECTIONS.tasks).deleteMany({ peid });
      await direct.db.collection(COLLECTIONS.executions).deleteOne({ peid });
    }
  });

  it("a GET whose answer would pass Lambda's 6 MB leaves the largest outputs out and says so", async () => {
    const peid = '0b1b0000-0000-4000-8000-000000000002';
    const now = Date.now();
    const tasks = Array.from({ length: 120 }, (_, i) => ({ id: `t${i}`, type: 'noop' }));
    const plan = await storeRun(tasks, peid, now);
    // ~66 KB of JSON each, ~90 KB once escaped in Lambda's envelope: ~11 MB in all.
    const output = (i: number) => ({ i, text: '"quoted" '.repeat(6000 + i) });
    await insert(
      { ...plan.exec, execution_status: 'completed', open_tasks: [], completeddate: now, playbook_runtime: 0 },
      plan.tasks.map((t, i) => ({
        ...t,
        status: 'succeeded',
        attempts: 1,
        output_json: JSON.stringify(output(i)),
        finished_at: now,
      })),
    );
    const res = await api('GET', `/executions/${peid}`, { token: h.tokenA });
    expect(res.status).toBe(200);
    expect(res.payloadBytes).toBeLessThanOrEqual(LAMBDA_RESPONSE_LIMIT);
    const body = res.body as {
      outputs_omitted?: boolean;
      tasks: Array<{ task_id: string; status: string; output: unknown; output_omitted?: boolean }>;
    };
    expect(body.outputs_omitted).toBe(true);
    expect(body.tasks).toHaveLength(120);
    expect(body.tasks.every((t) => t.status === 'succeeded')).toBe(true);
    const omitted = body.tasks.filter((t) => t.output_omitted === true);
    const kept = body.tasks.filter((t) => t.output_omitted === undefined);
    expect(omitted.every((t) => t.output === null)).toBe(true);
    for (const t of kept) expect(t.output).toEqual(output(Number(t.task_id.slice(1))));
    // The largest outputs go first, and no more than needed: what is kept fills most of the limit.
    expect(Math.min(...omitted.map((t) => Number(t.task_id.slice(1))))).toBeGreaterThan(
      Math.max(...kept.map((t) => Number(t.task_id.slice(1)))),
    );
    expect(kept.length).toBeGreaterThan(55);
    console.log(
      `[big-runs] GET of 120 outputs of ~66 KB: ${res.payloadBytes} bytes, ${kept.length} outputs kept, ${omitted.length} left out`,
    );
    // A small run's answer is unchanged: no flag.
    await direct.db.collection(COLLECTIONS.tasks).updateMany({ peid }, { $set: { output_json: '1' } });
    const small = (await api('GET', `/executions/${peid}`, { token: h.tokenA })).body as Record<string, unknown>;
    expect(small.outputs_omitted).toBeUndefined();
  });

  it('one run that makes the reaper throw does not stop the sweep for the others', async () => {
    await h.createPlaybook(shapePlaybook('diamond', h.stub.url, 'iso'));
    const bad = await h.startRun('iso-diamond', { score: 1 });
    const good = await h.startRun('iso-diamond', { score: 2 });
    // Both lose their root messages; the bad one's stored record is corrupt and older.
    await loseMessages();
    await direct.db
      .collection(COLLECTIONS.tasks)
      .updateOne({ peid: bad, task_id: 'a' }, { $set: { status: 'succeeded', dependents: 42 } });
    await direct.db
      .collection(COLLECTIONS.executions)
      .updateOne({ peid: bad }, { $set: { updateddate: Date.now() - 10_000 } });
    await sleep(1_200);
    const { handler } = await import('../../functions/reap-runs.js');
    const report = (await handler({} as never, lambdaContext('reapRuns'))) as unknown as Record<string, number>;
    expect(report.examined).toBe(2);
    expect(report.failed).toBe(1);
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    const p = h.poller().start();
    try {
      const { exec, tasks } = await waitRun(direct.db, good, 20_000);
      expect(exec.execution_status).toBe('completed');
      expect(runProblems(exec, tasks)).toEqual([]);
    } finally {
      await p.stop();
    }
  });
});
