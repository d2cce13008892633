/**
 * At-least-once delivery: duplicated messages and concurrent consumers must
 * not call an integration twice for a finished task, nor claim a join twice.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness, statuses } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());
beforeEach(() => h.stub.reset());

function twentyTaskPlaybook(name: string) {
  // 4 roots -> 12 middle tasks (3 per root) -> 3 joins of 4 -> 1 final join.
  const tasks: Array<Record<string, unknown>> = [];
  for (let r = 0; r < 4; r++)
    tasks.push({ id: `root${r}`, type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/${name}/root${r}` } });
  for (let r = 0; r < 4; r++) {
    for (let m = 0; m < 3; m++) {
      tasks.push({
        id: `mid${r}_${m}`,
        type: 'http',
        depends_on: [`root${r}`],
        config: {
          method: 'POST',
          url: `${h.stub.url}/ok/${name}/mid${r}_${m}`,
          body: { from: `{{ tasks.root${r}.output.status }}` },
        },
      });
    }
  }
  for (let j = 0; j < 3; j++) {
    tasks.push({
      id: `join${j}`,
      type: 'http',
      depends_on: [0, 1, 2, 3].map((r) => `mid${r}_${j}`),
      config: { method: 'GET', url: `${h.stub.url}/ok/${name}/join${j}` },
    });
  }
  tasks.push({
    id: 'final',
    type: 'transform',
    depends_on: ['join0', 'join1', 'join2'],
    config: { expression: '"done"' },
  });
  return { name, tasks };
}

describe('at-least-once delivery', () => {
  it('a 20-task run with every message delivered twice calls each integration once and ends like a clean run', async () => {
    await h.createPlaybook(twentyTaskPlaybook('clean'));
    await h.createPlaybook(twentyTaskPlaybook('dup'));

    const clean = h.poller({ maxConcurrency: 5 }).start();
    const cleanRun = await h.waitFinished(await h.startRun('clean'));
    await clean.stop();

    const dup = h.poller({ maxConcurrency: 5, duplicateEachMessage: true }).start();
    const dupRun = await h.waitFinished(await h.startRun('dup'));
    // Let the remaining duplicates drain before counting calls.
    await new Promise((r) => setTimeout(r, 1500));
    await dup.stop();

    expect(cleanRun.execution_status).toBe('completed');
    expect(dupRun.execution_status).toBe('completed');
    expect(statuses(dupRun)).toEqual(statuses(cleanRun));
    expect(dupRun.tasks.map((t) => t.attempts)).toEqual(cleanRun.tasks.map((t) => t.attempts));
    const perPath = new Map<string, number>();
    for (const c of h.stub.callsTo('/ok/dup/')) perPath.set(c.path, (perPath.get(c.path) ?? 0) + 1);
    expect(perPath.size).toBe(19);
    expect([...perPath.values()].every((n) => n === 1)).toBe(true);
    expect(dup.stats.messagesDeleted).toBeGreaterThan(cleanRun.tasks.length);
  });

  it('two concurrent consumers on a wide graph claim every join once', async () => {
    const width = 30;
    const tasks: Array<Record<string, unknown>> = [];
    for (let i = 0; i < width; i++) tasks.push({ id: `a${i}`, type: 'noop' });
    tasks.push({
      id: 'join_all',
      type: 'http',
      depends_on: tasks.map((t) => t.id),
      config: { method: 'GET', url: `${h.stub.url}/ok/wide/join_all` },
    });
    tasks.push({
      id: 'join_any',
      type: 'http',
      join: 'any',
      depends_on: ['a0', 'a1', 'a2', 'a3'],
      config: { method: 'GET', url: `${h.stub.url}/ok/wide/join_any` },
    });
    await h.createPlaybook({ name: 'wide', tasks });

    const p1 = h.poller({ maxConcurrency: 3, batchSize: 3 }).start();
    const p2 = h.poller({ maxConcurrency: 3, batchSize: 3 }).start();
    const runs = await Promise.all([h.startRun('wide'), h.startRun('wide'), h.startRun('wide')]);
    const done = await Promise.all(runs.map((peid) => h.waitFinished(peid, 45_000)));
    await Promise.all([p1.stop(), p2.stop()]);

    for (const e of done) {
      expect(e.execution_status).toBe('completed');
      const notSucceeded = Object.entries(statuses(e)).filter(([, s]) => s !== 'succeeded');
      expect(notSucceeded).toEqual([]);
    }
    expect(h.stub.callsTo('/ok/wide/join_all')).toHaveLength(3);
    expect(h.stub.callsTo('/ok/wide/join_any')).toHaveLength(3);
    expect(p1.stats.invocations).toBeGreaterThan(0);
    expect(p2.stats.invocations).toBeGreaterThan(0);
  });
});
