/**
 * The bench's own arithmetic (bench/lib): what the mixed-batch case derives from task records,
 * how a missed target is stated, how round-trip readings from several processes combine, and
 * how the profile summary names a function of a minified bundle from its source line.
 */
import { describe, expect, it } from 'vitest';
import { sumTrips, tripsBetween } from '../../bench/lib/counters.js';
import { claimInstants, dependentDelays, type TaskTimes } from '../../bench/lib/mixed-batch-delays.js';
import { shortfall, targets } from '../../bench/lib/stats.js';
import { functionNameIn } from '../../scripts/lib/cpu-profile.mjs';

const task = (peid: string, task_id: string, over: Partial<TaskTimes> = {}): TaskTimes => ({
  peid,
  tenant_code: 't',
  task_id,
  type: 'http',
  status: 'succeeded',
  started_at: 1_000,
  finished_at: 1_050,
  depends_on: [],
  ...over,
});

describe('mixed-batch: dependent start delays from task records', () => {
  const records = [
    task('r1', 'slow', { finished_at: 6_000 }),
    task('r1', 'fast_0', { finished_at: 1_060 }),
    task('r1', 'after_0', { depends_on: ['fast_0'], started_at: 6_040 }),
    task('r1', 'fast_1', { finished_at: 1_055 }),
    task('r1', 'after_1', { depends_on: ['fast_1'], started_at: 1_100, type: 'transform' }),
    task('r1', 'after_slow', { depends_on: ['slow'], started_at: 6_010 }),
    task('r2', 'fast_0', { finished_at: 1_070, tenant_code: 'u' }),
    task('r2', 'after_0', { depends_on: ['fast_0'], started_at: 1_090, tenant_code: 'u' }),
  ];

  it("measures each fast task's dependent, parent by parent within its run, and nothing else", () => {
    const delays = dependentDelays(records, (id) => id.startsWith('fast_'));
    expect(delays.map((d) => [d.peid, d.parent, d.dependent, d.type, d.tenant_code, d.delayMs])).toEqual([
      ['r1', 'fast_0', 'after_0', 'http', 't', 4_980],
      ['r1', 'fast_1', 'after_1', 'transform', 't', 45],
      ['r2', 'fast_0', 'after_0', 'http', 'u', 20],
    ]);
  });

  it('refuses a dependent that never started (the run did not do what is measured)', () => {
    const broken = records.map((t) => (t.task_id === 'after_1' ? { ...t, started_at: null, status: 'skipped' } : t));
    expect(() => dependentDelays(broken, (id) => id.startsWith('fast_'))).toThrow(/after_1 skipped/);
  });

  it('counts the distinct claim instants of the root tasks of each batch', () => {
    const tasks = [
      task('a', 'slow', { started_at: 5 }),
      task('a', 'fast_0', { started_at: 5 }),
      task('b', 'fast_0', { started_at: 5 }),
      task('b', 'after_0', { started_at: 9, depends_on: ['fast_0'] }),
      task('c', 'fast_0', { started_at: 5 }),
      task('d', 'fast_0', { started_at: 7 }),
    ];
    expect(
      claimInstants(tasks, [
        ['a', 'b'],
        ['c', 'd'],
      ]),
    ).toEqual([1, 2]);
  });
});

describe('targets: by how much a value misses', () => {
  it('states the gap of an upper bound, and nothing when it is met', () => {
    const t = targets.valueAtMost(150, '<= 150 ms');
    expect(shortfall(t, 235, 'ms')).toBe('by 85.0 ms (57 % over the bound)');
    expect(shortfall(t, 150, 'ms')).toBeNull();
  });

  it('states the gap of a lower bound as a share of the target', () => {
    const t = targets.valueAtLeast(66, '>= 66 runs/s');
    expect(shortfall(t, 26.4, 'runs/s')).toBe('by 39.6 runs/s (40 % of the target)');
    expect(shortfall(t, 70, 'runs/s')).toBeNull();
  });

  it('has nothing to say of informational rows or unmeasured values', () => {
    expect(shortfall(targets.info(), 10)).toBeNull();
    expect(shortfall(targets.valueAtMost(10, '<= 10'), null)).toBeNull();
  });
});

describe('round trips read in several processes', () => {
  const at = (mongo: number, find: number, dynamodb = 0) => ({
    mongo,
    sqs: 1,
    redis: 2,
    dynamodb,
    mongoByCommand: { find, update: mongo - find },
  });

  it('subtracts two readings field by field, leaving out commands that did not occur', () => {
    expect(tripsBetween(at(10, 4), at(15, 4, 3))).toEqual({
      mongo: 5,
      sqs: 0,
      redis: 0,
      dynamodb: 3,
      mongoByCommand: { update: 5 },
    });
  });

  it('adds the readings of several containers', () => {
    expect(sumTrips([at(3, 1), at(5, 2, 1)])).toEqual({
      mongo: 8,
      sqs: 2,
      redis: 4,
      dynamodb: 1,
      mongoByCommand: { find: 3, update: 5 },
    });
  });
});

describe('profile summary: a function named from its source line', () => {
  it.each([
    ['export function planRun(', 'planRun'],
    ['export async function timedDbCall<T>(fn: () => Promise<T>): Promise<T> {', 'timedDbCall'],
    ['    async claimTasks(claims, token, leaseUntil, now) {', 'claimTasks'],
    ['  const close = async (peid: string, ids: Set<string>) => {', 'close'],
    ['Connection.prototype.onData = function (message) {', 'onData'],
  ])('%s -> %s', (line, name) => {
    expect(functionNameIn(line)).toBe(name);
  });

  it.each([
    '  const tasks: TaskRecord[] = playbook.tasks.map((def) => ({',
    '      toRun.map(async ({ task }) => {',
    '    if (ready) {',
  ])('%s -> anonymous', (line) => {
    expect(functionNameIn(line)).toBeUndefined();
  });
});
