/**
 * At-least-once delivery at volume: 200 runs of small playbooks (3-5 tasks, joins,
 * retries, skips) while every SQS message is delivered 1-3 times — extra copies either
 * inside the same batch or back on the queue — and every batch is shuffled. Each
 * integration is called exactly once per task attempt, and every run ends in exactly
 * the state a clean (duplicate-free) run of the same playbook and alert ends in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../scripts/lib/token.js';
import { api } from '../support/api.js';
import { TEST_JWT_SECRET } from '../support/endpoints.js';
import { createHarness, type ExecutionBody, type Harness } from '../support/harness.js';
import { seededRandom } from '../support/random.js';
import { directDb, mapLimit, runProblems, storedRun, waitNoRunning, waitRun } from './support/fixtures.js';
import { waitQueueEmpty } from './support/queue.js';
import { callsOf, SHAPES, type Shape, shapePlaybook } from './support/shapes.js';

const RUNS = 200;
const SEED = Number(process.env.RELIABILITY_SEED ?? 20_251_127);
/** Runs are spread over tenants, so batches mix tenants (and no single tenant's fairness cap paces the test). */
const TENANTS = ['alo-a', 'alo-b', 'alo-c', 'alo-d'];
const tokens = new Map<string, string>();

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  for (const tenant of TENANTS) {
    const token = await mintToken(TEST_JWT_SECRET, { tenant, sub: `${tenant}-analyst` });
    tokens.set(tenant, token);
    for (const shape of SHAPES) await h.createPlaybook(shapePlaybook(shape, h.stub.url, 'alo'), token);
  }
});
afterAll(async () => {
  await h.close();
  await direct.close();
});

/** What must be identical between a clean run and a duplicated one (the peid masked out). */
function finalState(e: ExecutionBody): unknown {
  const mask = (v: unknown) => JSON.parse(JSON.stringify(v ?? null).replaceAll(e.peid, '<peid>')) as unknown;
  return {
    status: e.execution_status,
    error: e.error,
    tasks: e.tasks.map((t) => ({
      id: t.task_id,
      status: t.status,
      attempts: t.attempts,
      output: mask(t.output),
      error: mask(t.error),
      truncated: t.truncated,
    })),
  };
}

async function start(shape: Shape, score: number, i: number): Promise<string> {
  const res = await api('POST', '/runplaybook', {
    token: tokens.get(TENANTS[i % TENANTS.length] as string),
    body: { playbook_name: shapePlaybook(shape, '', 'alo').name, alert_id: `alo-${i}`, alert: { score } },
  });
  if (res.status !== 202) throw new Error(`start: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { peid: string }).peid;
}

describe('at-least-once delivery at volume', () => {
  it(`${RUNS} runs with every message delivered 1-3 times in random order end exactly like clean runs`, async () => {
    const variants = SHAPES.flatMap((shape) => [80, 20].map((score) => ({ shape, score })));

    // Reference: one clean run per (shape, alert) variant.
    const clean = h.poller({ maxConcurrency: 4 }).start();
    const reference = new Map<string, unknown>();
    for (const [i, v] of variants.entries()) {
      const peid = await start(v.shape, v.score, i);
      await waitRun(direct.db, peid);
      const e = await h.execution(peid, tokens.get(TENANTS[i % TENANTS.length] as string));
      reference.set(`${v.shape}/${v.score}`, finalState(e));
    }
    await clean.stop();
    h.stub.reset();

    const random = seededRandom(SEED);
    const dup = h.poller({ maxConcurrency: 10, randomDuplicates: { maxDeliveries: 3, random } }).start();
    const started = Date.now();
    const runs = await mapLimit(
      Array.from({ length: RUNS }, (_, i) => variants[i % variants.length] as (typeof variants)[number]),
      10,
      async (v, i) => ({ ...v, i, peid: await start(v.shape, v.score, 1000 + i) }),
    );
    const startedAll = Date.now() - started;
    await waitNoRunning(direct.db, 120_000);
    const finishedAll = Date.now() - started;
    // Every copy consumed (and found finished) before the calls are counted.
    await waitQueueEmpty(h.sqs, process.env.TASK_QUEUE_URL ?? '', 60_000);
    await dup.stop();
    const elapsed = Date.now() - started;
    console.log(
      `[at-least-once] seed ${SEED}: ${RUNS} runs started in ${startedAll} ms, finished in ${finishedAll} ms, queue drained in ${elapsed} ms, ${dup.stats.invocations} invocations, ` +
        `${dup.stats.extraDeliveries} extra deliveries, ${h.stub.calls.length} integration calls`,
    );
    expect(dup.stats.extraDeliveries).toBeGreaterThan(RUNS);

    const calls = h.stub.calls;
    let attemptsTotal = 0;
    for (const r of runs) {
      const e = await h.execution(r.peid, tokens.get(TENANTS[(1000 + r.i) % TENANTS.length] as string));
      const want = reference.get(`${r.shape}/${r.score}`);
      expect(finalState(e), `run ${r.peid} (${r.shape}/${r.score}, seed ${SEED})`).toEqual(want);
      const { exec, tasks } = await storedRun(direct.db, r.peid);
      expect(runProblems(exec, tasks)).toEqual([]);
      for (const t of tasks) {
        if (t.type !== 'http') continue;
        // A task skipped by its run_if was claimed (attempt 1) but never called anything.
        const called = t.status === 'skipped' ? 0 : t.attempts;
        attemptsTotal += called;
        expect(callsOf(calls, r.peid, t.task_id), `calls of ${r.peid}/${t.task_id}`).toBe(called);
      }
    }
    // Nothing called on behalf of anything else.
    expect(calls.length).toBe(attemptsTotal);
  }, 240_000);
});
