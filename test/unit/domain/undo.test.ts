import { describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../../lib/domain/playbook-validation.js';
import { buildTimeline, type TimelineTaskInput } from '../../../lib/domain/timeline.js';
import { renderTimelineSvg } from '../../../lib/domain/timeline-svg.js';
import {
  activeUndo,
  ancestors,
  holdsBack,
  inEffect,
  pendingUndos,
  readyUndos,
  type UndoNode,
  type UndoStatus,
} from '../../../lib/domain/undo.js';
import { ValidationError } from '../../../lib/errors.js';

const node = (
  task_id: string,
  depends_on: string[],
  undo: UndoStatus | null,
  extra: Partial<UndoNode> = {},
): UndoNode => ({
  task_id,
  depends_on,
  status: 'succeeded',
  undoable: true,
  undo: undo === null ? null : { state: undo },
  ...extra,
});

describe('the rollback order', () => {
  const diamond = (states: Record<string, UndoStatus | null>) => [
    node('a', [], states.a ?? null),
    node('b', ['a'], states.b ?? null),
    node('c', ['a'], states.c ?? null),
    node('d', ['b', 'c'], states.d ?? null),
  ];

  it('a diamond: d first, then b and c together, then a', () => {
    expect(readyUndos(diamond({ a: 'active', b: 'active', c: 'active', d: 'active' }))).toEqual(['d']);
    expect(readyUndos(diamond({ a: 'active', b: 'active', c: 'active', d: 'undone' }))).toEqual(['b', 'c']);
    expect(readyUndos(diamond({ a: 'active', b: 'undone', c: 'undoing', d: 'undone' }))).toEqual([]);
    expect(readyUndos(diamond({ a: 'active', b: 'undone', c: 'undo_failed', d: 'undone' }))).toEqual(['a']);
    expect(readyUndos(diamond({ a: 'undone', b: 'undone', c: 'undone', d: 'undone' }))).toEqual([]);
  });

  it('the order is transitive: a task without an undo between two containments does not break it', () => {
    const chain = [
      node('block', [], 'active'),
      node('score', ['block'], null, { undoable: false }),
      node('close', ['score'], 'active'),
    ];
    expect(readyUndos(chain)).toEqual(['close']);
    expect(readyUndos([chain[0] as UndoNode, chain[1] as UndoNode, node('close', ['score'], 'undone')])).toEqual([
      'block',
    ]);
  });

  it('a task with an undo that has not finished holds back what it depends on; one that failed or was cancelled does not', () => {
    const running = [node('a', [], 'active'), node('b', ['a'], null, { status: 'running' })];
    expect(readyUndos(running)).toEqual([]);
    expect(holdsBack(running[1] as UndoNode)).toBe(true);
    for (const status of ['failed', 'cancelled', 'skipped']) {
      expect(readyUndos([node('a', [], 'active'), node('b', ['a'], null, { status })])).toEqual(['a']);
    }
    // A test run's mocked task has nothing to undo, whatever its status.
    expect(
      readyUndos([node('a', [], 'active'), node('b', ['a'], null, { status: 'queued', undoable: false })]),
    ).toEqual(['a']);
  });

  it('independent containments are all ready at once; `among` restricts to some', () => {
    const flat = [node('x', [], 'active'), node('y', [], 'active'), node('z', [], 'undone')];
    expect(readyUndos(flat)).toEqual(['x', 'y']);
    expect(readyUndos(flat, new Set(['y']))).toEqual(['y']);
  });

  it('ancestors and the pending count', () => {
    const d = diamond({ a: 'active', b: 'active', c: 'undone', d: 'undoing' });
    expect([...ancestors(d, 'd')].sort()).toEqual(['a', 'b', 'c']);
    expect([...ancestors(d, 'a')]).toEqual([]);
    expect(pendingUndos(d)).toBe(3);
  });
});

describe('undo state', () => {
  it('a success with an expiry is due undo_after_seconds later; without one, only a rollback undoes it', () => {
    expect(activeUndo({ gen: 2, playbook_name: 'p', applied_at: 1_000, undo_after_seconds: 60 })).toMatchObject({
      state: 'active',
      in_effect: true,
      gen: 2,
      undo_at: 61_000,
      attempts: 0,
      claim: null,
    });
    expect(activeUndo({ gen: 1, playbook_name: 'p', applied_at: 1_000, undo_after_seconds: undefined }).undo_at).toBe(
      null,
    );
    expect(['active', 'undoing', 'undone', 'undo_failed'].map((s) => inEffect(s as never))).toEqual([
      true,
      true,
      false,
      true,
    ]);
  });
});

describe('playbooks with an undo', () => {
  const http = (extra: Record<string, unknown>) => ({
    name: 'p',
    tasks: [{ id: 'block', type: 'http', config: { method: 'POST', url: 'https://fw.example/b' }, ...extra }],
  });
  const paths = (input: unknown) => {
    try {
      parsePlaybook(input);
      return [];
    } catch (err) {
      return (err as ValidationError).details?.map((d) => d.path) ?? [];
    }
  };

  it('accepts an http undo with an expiry in range, its templates seeing the task output', () => {
    const def = parsePlaybook(
      http({
        undo: { method: 'DELETE', url: 'https://fw.example/b/{{ tasks.block.output.body.id }}' },
        undo_after_seconds: 2_592_000,
      }),
    );
    expect(def.tasks[0]).toMatchObject({ undo: { method: 'DELETE' }, undo_after_seconds: 2_592_000 });
  });

  it('refuses, naming the field: range, shape, templates, secrets, type, for_each', () => {
    const undo = { method: 'DELETE', url: 'https://fw.example/x' };
    expect(paths(http({ undo, undo_after_seconds: 59 }))).toEqual(['tasks[0].undo_after_seconds']);
    expect(paths(http({ undo, undo_after_seconds: 31_536_001 }))).toEqual(['tasks[0].undo_after_seconds']);
    expect(paths(http({ undo, undo_after_seconds: 60.5 }))).toEqual(['tasks[0].undo_after_seconds']);
    expect(paths(http({ undo_after_seconds: 600 }))).toEqual(['tasks[0].undo_after_seconds']);
    expect(paths(http({ undo: { method: 'DELETE' } }))).toEqual(['tasks[0].undo.url']);
    expect(paths(http({ undo: { ...undo, method: 'PURGE' } }))).toEqual(['tasks[0].undo.method']);
    expect(paths(http({ undo: { ...undo, url: 'https://x/{{ ( }}' } }))).toEqual(['tasks[0].undo.url']);
    expect(paths(http({ undo: { ...undo, body: { k: '{{ $uppercase(secrets.K) }}' } } }))).toEqual([
      'tasks[0].undo.body.k',
    ]);
    expect(paths(http({ undo, for_each: 'alert.ips' }))).toEqual(['tasks[0].undo']);
    expect(paths({ name: 'p', tasks: [{ id: 'n', type: 'noop', undo }] })).toEqual(['tasks[0].undo']);
    expect(paths(http({ undo: { ...undo, headers: { authorization: '{{ secrets.K }}' } } }))).toEqual([]);
    expect(() => parsePlaybook(http({ undo_after_seconds: 600 }))).toThrow(ValidationError);
  });
});

describe('the timeline shows undos', () => {
  const T0 = 1_764_230_400_000;
  const task = (id: string, undo?: TimelineTaskInput['undo']): TimelineTaskInput => ({
    task_seq: id.charCodeAt(0),
    task_id: id,
    type: 'http',
    status: 'succeeded',
    attempts: 1,
    depends_on: [],
    started_at: T0 + 10,
    finished_at: T0 + 110,
    duration_ms: 90,
    error: null,
    ...(undo ? { undo } : {}),
  });
  const undo = (status: NonNullable<TimelineTaskInput['undo']>['status'], extra = {}) => ({
    status,
    by: status === 'active' ? null : ('rollback' as const),
    undo_at: null,
    started_at: status === 'active' ? null : T0 + 5_000,
    finished_at: status === 'active' || status === 'undoing' ? null : T0 + 5_200,
    attempts: status === 'active' ? 0 : 1,
    error: null,
    ...extra,
  });

  it('hatched bars for undone and failed undos, an outline while in effect, notes and a legend', () => {
    const tl = buildTimeline(
      {
        peid: 'p',
        playbook_name: 'pb',
        execution_status: 'completed',
        createddate: T0,
        completeddate: T0 + 200,
        error: null,
      },
      [
        task('a', undo('undone')),
        task('b', undo('undo_failed', { error: { code: 'HTTP_STATUS', message: 'integration answered <503>' } })),
        task('c', undo('active', { undo_at: T0 + 110 + 30 * 86_400_000 })),
        task('d'),
      ],
      T0 + 300,
    );
    expect(tl.tasks.map((t) => t.undo?.status ?? null)).toEqual(['undone', 'undo_failed', 'active', null]);
    const svg = renderTimelineSvg(tl);
    expect(svg.match(/class="undo undone"/g)).toHaveLength(1);
    expect(svg.match(/class="undo undo-failed"/g)).toHaveLength(1);
    expect(svg.match(/class="undo in-effect"/g)).toHaveLength(1);
    expect(svg).toContain('undone by rollback');
    expect(svg).toContain('undo in 30 d');
    expect(svg).toContain('integration answered &lt;503&gt;');
    expect(svg).not.toContain('<503>');
    expect(svg).toContain('<pattern id="undone"');
    expect(svg).toContain('containment in effect (its undo not run yet)');
    expect(svg).toContain('undo failed: may still be in effect');
  });
});
