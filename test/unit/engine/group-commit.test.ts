/**
 * Group commit inside one invocation (lib/engine/batch/commit.ts, commit-group.ts) on the
 * in-memory store: each task joins the next commit group as it finishes, so a slow task never
 * holds back a fast one's result, fan-in and close; results finishing together go out in one bulk
 * write; a join whose dependencies all end in one group (or were closed before the invocation read
 * the run) is decided and run in that same write; a group that fails leaves only its own messages for redelivery. Commit windows run on the
 * fixture's clock: the tests decide when they pass.
 */
import { describe, expect, it } from 'vitest';
import type { IntegrationResponse } from '../../../lib/engine/ports/integrations.js';
import type { RunStore } from '../../../lib/engine/ports/run-store.js';
import type { OutgoingTaskMessage } from '../../../lib/engine/ports/task-queue.js';
import { createEngine, type Engine } from '../../support/engine-fixture.js';
import { seededRandom } from '../../support/random.js';

const http = (id: string, extra: object = {}) => ({
  id,
  type: 'http',
  config: { method: 'GET', url: `http://svc/${id}` },
  ...extra,
});
/** A transform after `x` and `y` adding their http statuses (200 + 200 = '400'). */
const joinOf = (x: string, y: string) => ({
  id: 'join',
  type: 'transform',
  depends_on: [x, y],
  config: { expression: `tasks.${x}.output.status + tasks.${y}.output.status` },
});
const ids = (messages: Array<{ message: { task_id: string } }>) => messages.map((m) => m.message.task_id).sort();

/** Integrations answering at once, except the URLs held until the test releases them. */
function heldAnswers() {
  const held = new Map<string, () => void>();
  const answer = async (req: { url: string }): Promise<IntegrationResponse> => {
    if (req.url.includes('/slow')) await new Promise<void>((resolve) => held.set(req.url, resolve));
    return { status: 200, body: { url: req.url } };
  };
  return { held, answer };
}

/** Counts the store's writes and closes, in order. */
function countWrites(e: Engine): string[] {
  const events: string[] = [];
  const runs: RunStore = e.deps.runs;
  e.deps.runs = {
    ...runs,
    writeTaskResults: async (w, t, n) => {
      events.push(
        `write:${w
          .map((x) => x.task_id)
          .sort()
          .join(',')}`,
      );
      return runs.writeTaskResults(w, t, n);
    },
    closeTasks: async (r, ends, n, c) => {
      events.push(
        `close:${ends
          .map((x) => x.task_id)
          .sort()
          .join(',')}`,
      );
      return runs.closeTasks(r, ends, n, c);
    },
  };
  return events;
}

describe('group commit', () => {
  it('a slow task does not hold back a fast one: the fast result, its fan-in and close commit while the slow one runs', async () => {
    const { held, answer } = heldAnswers();
    const e = createEngine(answer);
    const { peid, roots } = e.start([
      http('fast'),
      http('slow'),
      http('after_fast', { depends_on: ['fast'] }),
      http('after_slow', { depends_on: ['slow'] }),
    ]);
    const delivery = e.deliver(roots);
    await e.until(() => held.size === 1);
    // The fast result waits in its group for the window: nothing written yet.
    await e.until(() => e.calls.length === 2);
    expect(e.task(peid, 'fast').status).toBe('running');
    e.advance(5);
    await e.until(() => e.sent.length === 1);
    const afterFast = e.take();
    expect(ids(afterFast)).toEqual(['after_fast']);
    expect(e.task(peid, 'fast')).toMatchObject({ status: 'succeeded', claim: null });
    expect(e.task(peid, 'after_fast').status).toBe('queued');
    expect(e.task(peid, 'slow').status).toBe('running');
    expect(e.execution(peid).open_tasks.sort()).toEqual(['after_fast', 'after_slow', 'slow']);

    // The slow one ends: the last thing running, so its group commits without a window.
    for (const release of held.values()) release();
    expect(await delivery).toEqual([]);
    const afterSlow = e.take();
    expect(ids(afterSlow)).toEqual(['after_slow']);
    expect(e.task(peid, 'slow').status).toBe('succeeded');
    await e.deliver([...afterFast, ...afterSlow]);
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('results that finish within the window go out in one write and one close', async () => {
    const { held, answer } = heldAnswers();
    const e = createEngine(answer);
    const events = countWrites(e);
    const { peid, roots } = e.start([http('a'), http('b'), http('slow')]);
    const delivery = e.deliver(roots);
    await e.until(() => e.calls.length === 3);
    // `a` and `b` wait in the forming group; `slow` ends before the window passes: all three commit together.
    expect(events).toEqual([]);
    for (const release of held.values()) release();
    expect(await delivery).toEqual([]);
    expect(events).toEqual(['write:a,b,slow', 'close:a,b,slow']);
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a group of maxResults commits at once, without waiting for the window', async () => {
    const { held, answer } = heldAnswers();
    const e = createEngine(answer);
    e.deps.commit = { windowMs: 5, maxResults: 2 };
    const events = countWrites(e);
    const { peid, roots } = e.start([http('a'), http('b'), http('slow')]);
    const delivery = e.deliver(roots);
    await e.until(() => events.length === 2);
    expect(events).toEqual(['write:a,b', 'close:a,b']);
    expect(e.task(peid, 'slow').status).toBe('running');
    for (const release of held.values()) release();
    expect(await delivery).toEqual([]);
    expect(events.slice(2)).toEqual(['write:slow', 'close:slow']);
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a join whose dependencies all end in one group runs inline in the same write; one close completes the run', async () => {
    const e = createEngine();
    const events = countWrites(e);
    const { peid, roots } = e.start([http('a'), http('b'), joinOf('a', 'b')]);
    expect(await e.deliver(roots)).toEqual([]);
    expect(events).toEqual(['write:a,b,join', 'close:a,b,join']);
    expect(e.task(peid, 'join')).toMatchObject({ status: 'succeeded', output_json: '400', attempts: 1, claim: null });
    expect(e.execution(peid)).toMatchObject({ execution_status: 'completed', open_tasks: [] });
    expect(e.take()).toEqual([]);
  });

  it('a join whose other dependency was closed before this invocation read the run is decided in its results write', async () => {
    const e = createEngine();
    const events = countWrites(e);
    const { peid, roots } = e.start([http('a'), http('b'), joinOf('a', 'b')]);
    await e.deliver(roots.filter((m) => m.message.task_id === 'a'));
    expect(e.task(peid, 'join').status).toBe('pending');
    await e.deliver(roots.filter((m) => m.message.task_id === 'b'));
    // b's invocation read the run with `a` closed (and `a`'s output with the run's task states): b's end
    // decides the join, which runs inline into b's write; one close records both and completes the run.
    expect(events).toEqual(['write:a', 'close:a', 'write:b,join', 'close:b,join']);
    expect(e.task(peid, 'join')).toMatchObject({ status: 'succeeded', output_json: '400' });
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a join whose dependencies end in two concurrent invocations is decided by the later close, and runs inline there', async () => {
    const { held, answer } = heldAnswers();
    const e = createEngine(answer);
    const events = countWrites(e);
    const { peid, roots } = e.start([http('slow'), http('b'), joinOf('slow', 'b')]);
    // `slow`'s invocation reads the run (nothing closed) and waits on its integration...
    const first = e.deliver(roots.filter((m) => m.message.task_id === 'slow'));
    await e.until(() => held.size === 1);
    // ...while b's invocation reads it too (`slow` open), ends b and closes it: the join still waits.
    await e.deliver(roots.filter((m) => m.message.task_id === 'b'));
    expect(e.task(peid, 'join').status).toBe('pending');
    for (const release of held.values()) release();
    await first;
    // `slow`'s close shows both ended: it decides the join, reads b's output for its context, then one write and close.
    expect(events).toEqual(['write:b', 'close:b', 'write:slow', 'close:slow', 'write:join', 'close:join']);
    expect(e.task(peid, 'join')).toMatchObject({ status: 'succeeded', output_json: '400' });
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a failed group leaves only its own messages for redelivery, which completes the run calling nothing again', async () => {
    const { held, answer } = heldAnswers();
    const e = createEngine(answer);
    const runs = e.deps.runs;
    let writes = 0;
    e.deps.runs = {
      ...runs,
      writeTaskResults: async (w, t, n) => {
        const won = await runs.writeTaskResults(w, t, n);
        // The second group's write is applied, then the invocation's database connection fails.
        if (++writes === 2) throw new Error('injected: connection lost after the write');
        return won;
      },
    };
    const { peid, roots } = e.start([http('fast'), http('slow'), http('after_slow', { depends_on: ['slow'] })]);
    const delivery = e.deliver(roots);
    await e.until(() => held.size === 1 && e.calls.length === 2);
    e.advance(5);
    await e.until(() => e.task(peid, 'fast').status === 'succeeded');
    for (const release of held.values()) release();
    const failed = await delivery;
    const slowMessage = roots.findIndex((m) => m.message.task_id === 'slow');
    expect(failed).toEqual([`m${slowMessage}`]);
    expect(e.task(peid, 'slow').status).toBe('succeeded');
    expect(e.task(peid, 'after_slow').status).toBe('queued');
    expect(e.take()).toEqual([]);

    e.deps.runs = runs;
    expect(await e.deliver(roots.filter((m) => m.message.task_id === 'slow'))).toEqual([]);
    const next = e.take();
    expect(ids(next)).toEqual(['after_slow']);
    await e.deliver(next);
    expect(e.execution(peid).execution_status).toBe('completed');
    expect(e.calls.sort()).toEqual(['http://svc/after_slow', 'http://svc/fast', 'http://svc/slow']);
  });

  it('a crash after a write that ended a join with its parent: the redelivered parent closes it and re-sends what it queued', async () => {
    const e = createEngine();
    const runs = e.deps.runs;
    e.deps.runs = {
      ...runs,
      writeTaskResults: async (w, t, n) => {
        await runs.writeTaskResults(w, t, n);
        throw new Error('injected crash after the write');
      },
    };
    const { peid, roots } = e.start([
      http('a'),
      { id: 'join', type: 'transform', depends_on: ['a'], config: { expression: '"j"' } },
      http('after', { depends_on: ['join'] }),
    ]);
    expect(await e.deliver(roots)).toEqual(['m0']);
    // One write ended `a` and the join and queued `after`; nothing was closed or sent.
    expect([e.task(peid, 'a').status, e.task(peid, 'join').status, e.task(peid, 'after').status]).toEqual([
      'succeeded',
      'succeeded',
      'queued',
    ]);
    expect(e.execution(peid).open_tasks.sort()).toEqual(['a', 'after', 'join']);
    expect(e.take()).toEqual([]);

    e.deps.runs = runs;
    expect(await e.deliver(roots)).toEqual([]);
    const next = e.take();
    expect(ids(next)).toEqual(['after']);
    expect(e.execution(peid).open_tasks).toEqual(['after']);
    await e.deliver(next);
    expect(e.execution(peid).execution_status).toBe('completed');
    expect(e.calls).toEqual(['http://svc/a', 'http://svc/after']);
  });

  it('many runs, their messages split at random into concurrent batches and delivered twice: all complete, each call once', async () => {
    const random = seededRandom(20_251_205);
    // Calls answer after a random number of event-loop turns, so results finish in any order and groups form at random.
    const e = createEngine(async (req) => {
      for (let i = Math.floor(random() * 4); i > 0; i--) await new Promise((r) => setImmediate(r));
      return { status: 200, body: { url: req.url } };
    });
    e.deps.commit = { windowMs: 5, maxResults: 4 };
    const tasks = [
      ...[0, 1, 2, 3, 4].map((i) => http(`c${i}`)),
      {
        id: 'join',
        type: 'transform',
        depends_on: ['c0', 'c1', 'c2', 'c3', 'c4'],
        config: { expression: '$count($keys(tasks))' },
      },
      http('after', { depends_on: ['join'] }),
      { id: 'side', type: 'noop', depends_on: ['c0'] },
    ];
    const peids: string[] = [];
    let queue: OutgoingTaskMessage[] = [];
    for (let i = 0; i < 12; i++) {
      const { peid, roots } = e.start(tasks);
      peids.push(peid);
      queue.push(...roots);
    }
    for (let round = 0; queue.length > 0; round++) {
      if (round > 50) throw new Error('still delivering after 50 rounds');
      // Every message once more with probability 1/3, then cut into batches of 1-10 delivered at once.
      const copies = [...queue, ...queue.filter(() => random() < 1 / 3)].sort(() => random() - 0.5);
      const batches: OutgoingTaskMessage[][] = [];
      while (copies.length > 0) batches.push(copies.splice(0, 1 + Math.floor(random() * 10)));
      const deliveries = batches.map((b) => e.deliver(b));
      // Commit windows pass while the batches run.
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setImmediate(r));
        e.advance(5);
      }
      const failed = await Promise.all(deliveries);
      queue = failed.flatMap((ids, i) =>
        ids.map((id) => (batches[i] as OutgoingTaskMessage[])[Number(id.slice(1))] as OutgoingTaskMessage),
      );
      queue.push(...e.take());
      e.advance(60_000);
    }
    for (const peid of peids) {
      expect(e.execution(peid)).toMatchObject({ execution_status: 'completed', open_tasks: [] });
      expect(e.task(peid, 'join')).toMatchObject({ status: 'succeeded', output_json: '8', attempts: 1 });
    }
    const perTask = new Map<string, number>();
    for (const url of e.calls) perTask.set(url, (perTask.get(url) ?? 0) + 1);
    expect([...perTask.values()].every((n) => n === peids.length)).toBe(true);
    expect(e.calls).toHaveLength(peids.length * 6);
  });
});
