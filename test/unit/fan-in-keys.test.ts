/**
 * The fan-in reads only the tasks it decides on (fanInKeys): the decisions made from
 * that subset are exactly the decisions made from every task of the run.
 */
import { describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../lib/domain/statuses.js';
import { fanInKeys, planFanIn } from '../../lib/engine/batch/fan-in.js';
import type { TaskRecord } from '../../lib/engine/model.js';
import { planTestRun } from '../support/planned-run.js';

const PEID = '00000000-0000-4000-8000-000000000001';

const plan = (tasks: unknown[]) => planTestRun(tasks, PEID);

const ids = (keys: Array<{ task_id: string }>) => keys.map((k) => k.task_id).sort();

const fanOut = [
  ...Array.from({ length: 10 }, (_, i) => ({ id: `call_${i}`, type: 'noop' })),
  { id: 'join', type: 'noop', depends_on: Array.from({ length: 10 }, (_, i) => `call_${i}`) },
];

// a -> b, a -> c, (b, c) -> d (join any), d -> e, c -> f; g alone.
const diamond = [
  { id: 'a', type: 'noop' },
  { id: 'b', type: 'noop', depends_on: ['a'] },
  { id: 'c', type: 'noop', depends_on: ['a'], on_failure: 'continue' },
  { id: 'd', type: 'noop', depends_on: ['b', 'c'], join: 'any' },
  { id: 'e', type: 'noop', depends_on: ['d'] },
  { id: 'f', type: 'noop', depends_on: ['c'] },
  { id: 'g', type: 'noop' },
];

describe('fanInKeys', () => {
  it('reads a finished call, the join and all the join depends on', () => {
    const { exec, tasks } = plan(fanOut);
    const keys = fanInKeys([exec], tasks, new Map([[PEID, new Set(['call_3'])]]), new Map());
    expect(ids(keys)).toEqual([...Array.from({ length: 10 }, (_, i) => `call_${i}`), 'join'].sort());
  });

  it('reads nothing when the finished tasks have no dependents', () => {
    const { exec, tasks } = plan(fanOut);
    expect(fanInKeys([exec], tasks, new Map([[PEID, new Set(['join'])]]), new Map())).toEqual([]);
    expect(fanInKeys([exec], tasks, new Map(), new Map([[PEID, new Set(['join'])]]))).toEqual([]);
  });

  it('follows the graph down, for skips that cascade', () => {
    const { exec, tasks } = plan(diamond);
    const keys = fanInKeys([exec], tasks, new Map([[PEID, new Set(['a'])]]), new Map());
    expect(ids(keys)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('decides exactly as a read of the whole run would, whatever the states', () => {
    const statuses: TaskStatus[] = ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped'];
    const terminal = new Set<TaskStatus>(['succeeded', 'failed', 'skipped']);
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let decided = 0;
    for (const shape of [diamond, fanOut]) {
      for (let i = 0; i < 400; i++) {
        const { exec, tasks } = plan(shape);
        const states: TaskRecord[] = tasks.map((t) => ({
          ...t,
          status: statuses[Math.floor(random() * statuses.length)] as TaskStatus,
          attempts: random() < 0.5 ? 0 : 1,
        }));
        const done = states.filter((t) => terminal.has(t.status)).map((t) => t.task_id);
        const finished = new Map([[PEID, new Set(done.filter(() => random() < 0.5))]]);
        const redrive = new Map([[PEID, new Set(done.filter((id) => !finished.get(PEID)?.has(id) && random() < 0.3))]]);
        const wanted = new Set(fanInKeys([exec], tasks, finished, redrive).map((k) => k.task_id));
        const all = planFanIn([exec], states, finished, redrive);
        const subset = planFanIn(
          [exec],
          states.filter((t) => wanted.has(t.task_id)),
          finished,
          redrive,
        );
        expect(subset).toEqual(all);
        if (all.transitions.length + all.resend.length > 0) decided += 1;
      }
    }
    // Not vacuous: many of the drawn states have something to decide.
    expect(decided).toBeGreaterThan(100);
  });
});

describe('planFanIn: a redelivered parent re-sends a dependent its crashed invocation held', () => {
  const chain = [
    { id: 'a', type: 'noop' },
    { id: 'b', type: 'transform', depends_on: ['a'], config: { expression: '1' } },
  ];
  const held = (until: number) => {
    const { exec, tasks } = plan(chain);
    const states: TaskRecord[] = tasks.map((t) =>
      t.task_id === 'a'
        ? { ...t, status: 'succeeded' as TaskStatus, attempts: 1 }
        : { ...t, status: 'running' as TaskStatus, attempts: 1, claim: { token: 'dead', until } },
    );
    return { exec, states };
  };
  const redriven = new Map([[PEID, new Set(['a'])]]);

  it('running on an expired lease (an inline task of a dead invocation): its attempt is sent again', () => {
    const { exec, states } = held(1_000);
    const p = planFanIn([exec], states, new Map(), redriven, 2_000);
    expect(p.transitions).toEqual([]);
    expect(p.resend.map((m) => [m.message.task_id, m.message.attempt, m.delaySeconds])).toEqual([['b', 1, 0]]);
  });

  it('running on a live lease: left to its holder', () => {
    const { exec, states } = held(3_000);
    expect(planFanIn([exec], states, new Map(), redriven, 2_000).resend).toEqual([]);
  });

  it('only for a redelivered parent, not a first delivery', () => {
    const { exec, states } = held(1_000);
    expect(planFanIn([exec], states, new Map([[PEID, new Set(['a'])]]), new Map(), 2_000).resend).toEqual([]);
  });
});
