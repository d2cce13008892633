/**
 * Shared pieces of the reliability tests: a direct database handle for checking
 * what was stored (never through the code under test), run consistency checks,
 * bounded-concurrency helpers and the small playbook shapes the fault tests run.
 */
import { type Db, MongoClient } from 'mongodb';
import { COLLECTIONS } from '../../../lib/adapters/mongo/collections.js';
import type { ExecutionRecord, TaskRecord } from '../../../lib/engine/model.js';
import { testEndpoints } from '../../support/endpoints.js';
import type { ExecutionBody } from '../../support/harness.js';

/** A client straight to the local MongoDB-compatible server (bypassing any fault proxy). */
export async function directDb(): Promise<{ db: Db; close: () => Promise<void> }> {
  const client = new MongoClient(testEndpoints().mongoUri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  return { db: client.db(process.env.MONGO_DB), close: () => client.close() };
}

export const TERMINAL_TASK = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/** Everything stored for a run, read directly. */
export async function storedRun(db: Db, peid: string): Promise<{ exec: ExecutionRecord | null; tasks: TaskRecord[] }> {
  const [exec, tasks] = await Promise.all([
    db.collection<ExecutionRecord>(COLLECTIONS.executions).findOne({ peid }),
    db.collection<TaskRecord>(COLLECTIONS.tasks).find({ peid }).sort({ task_seq: 1 }).toArray(),
  ]);
  return { exec, tasks };
}

/**
 * The consistency rules every finished run obeys; returns the violations (empty when consistent):
 * terminal status with completeddate/runtime, one stored task per definition, every task terminal,
 * a completed run has an empty open set and no fatal failure, a failed run carries an error.
 */
export function runProblems(exec: ExecutionRecord | null, tasks: TaskRecord[]): string[] {
  if (!exec) return ['execution missing'];
  const p: string[] = [];
  const where = `run ${exec.peid}`;
  if (exec.execution_status === 'running') p.push(`${where} still running`);
  if (exec.execution_status !== 'running') {
    if (typeof exec.completeddate !== 'number') p.push(`${where}: no completeddate`);
    if (exec.playbook_runtime !== (exec.completeddate ?? 0) - exec.createddate) p.push(`${where}: wrong runtime`);
  }
  if (tasks.length !== exec.tasks_total) p.push(`${where}: ${tasks.length} tasks stored, ${exec.tasks_total} expected`);
  for (const t of tasks) {
    if (!TERMINAL_TASK.has(t.status)) p.push(`${where}: task ${t.task_id} is ${t.status}`);
    if (t.claim !== null && TERMINAL_TASK.has(t.status) && t.status !== 'cancelled' && t.status !== 'skipped')
      p.push(`${where}: task ${t.task_id} finished but still claimed`);
  }
  if (exec.execution_status === 'completed') {
    if (exec.open_tasks.length > 0) p.push(`${where}: completed with open tasks ${exec.open_tasks.join(',')}`);
    for (const t of tasks) {
      if (t.status === 'cancelled') p.push(`${where}: completed with cancelled task ${t.task_id}`);
      if (t.status === 'failed' && t.def.on_failure !== 'continue')
        p.push(`${where}: completed with fatal failed task ${t.task_id}`);
    }
    if (exec.error) p.push(`${where}: completed with an error`);
  }
  if (exec.execution_status === 'failed' && !exec.error) p.push(`${where}: failed without an error`);
  return p;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}

/** Waits until no execution of the test database is running, or fails listing the stuck ones. */
export async function waitNoRunning(db: Db, timeoutMs: number, expectRuns?: number): Promise<void> {
  const execs = db.collection<ExecutionRecord>(COLLECTIONS.executions);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const running = await execs.countDocuments({ execution_status: 'running' });
    const total = expectRuns === undefined ? 0 : await execs.countDocuments({});
    if (running === 0 && (expectRuns === undefined || total === expectRuns)) return;
    if (Date.now() > end) {
      const stuck = await execs
        .find(
          { execution_status: 'running' },
          { projection: { _id: 0, peid: 1, open_tasks: 1, createddate: 1, updateddate: 1 } },
        )
        .limit(3)
        .toArray();
      const tasks = await db
        .collection<TaskRecord>(COLLECTIONS.tasks)
        .find(
          { peid: { $in: stuck.map((e) => e.peid) } },
          { projection: { _id: 0, peid: 1, task_id: 1, status: 1, attempts: 1 } },
        )
        .toArray();
      throw new Error(
        `${running} runs still running after ${timeoutMs} ms, e.g. ${JSON.stringify(stuck)}; their tasks: ${JSON.stringify(tasks)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until one run (any tenant) and all its tasks are terminal; returns them, read directly. */
export async function waitRun(
  db: Db,
  peid: string,
  timeoutMs = 30_000,
): Promise<{ exec: ExecutionRecord; tasks: TaskRecord[] }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { exec, tasks } = await storedRun(db, peid);
    // Two reads, no snapshot: wait for the tasks too (see waitSettled).
    if (exec && exec.execution_status !== 'running' && tasks.every((t) => TERMINAL_TASK.has(t.status)))
      return { exec, tasks };
    if (Date.now() > end) {
      const open = tasks.filter((t) => !TERMINAL_TASK.has(t.status)).map((t) => `${t.task_id}:${t.status}`);
      throw new Error(
        `run ${peid} still ${exec?.execution_status ?? 'missing'} after ${timeoutMs} ms; open tasks: ${open.slice(0, 10).join(', ')}`,
      );
    }
    await sleep(100);
  }
}

/**
 * Polls the API until the run is terminal and so is every task. The execution and its tasks
 * are two reads (no snapshot across collections), and a failing run cancels its unstarted
 * tasks just after it is marked failed: the first terminal answer can show tasks still open.
 */
export async function waitSettled(
  h: { execution(peid: string, token?: string): Promise<ExecutionBody> },
  peid: string,
  timeoutMs = 30_000,
  token?: string,
): Promise<ExecutionBody> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const e = await h.execution(peid, token);
    if (e.execution_status !== 'running' && e.tasks.every((t) => TERMINAL_TASK.has(t.status))) return e;
    if (Date.now() > end)
      throw new Error(
        `run ${peid} not settled after ${timeoutMs} ms: ${e.execution_status} ${JSON.stringify(e.tasks.map((t) => [t.task_id, t.status]))}`,
      );
    await sleep(50);
  }
}
