import { describe, expect, it } from 'vitest';
import { buildGraph, type DependencyOutcome, decideReadiness } from '../../../lib/domain/graph.js';

describe('buildGraph', () => {
  it('keeps declaration order when it is already topological', () => {
    const graph = buildGraph([
      { id: 'lookup', depends_on: [] },
      { id: 'score', depends_on: ['lookup'] },
      { id: 'block', depends_on: ['score'] },
      { id: 'close', depends_on: ['score', 'block'] },
    ]);
    expect(graph.order).toEqual(['lookup', 'score', 'block', 'close']);
    expect(graph.seq.get('close')).toBe(4);
  });

  it('orders tasks topologically, taking the earliest-declared ready task first', () => {
    const graph = buildGraph([
      { id: 'close', depends_on: ['score', 'block'] },
      { id: 'lookup', depends_on: [] },
      { id: 'block', depends_on: ['score'] },
      { id: 'score', depends_on: ['lookup'] },
      { id: 'audit', depends_on: [] },
      { id: 'notify', depends_on: ['lookup'] },
    ]);
    expect(graph.order).toEqual(['lookup', 'score', 'block', 'close', 'audit', 'notify']);
    expect([...graph.seq]).toEqual([
      ['lookup', 1],
      ['score', 2],
      ['block', 3],
      ['close', 4],
      ['audit', 5],
      ['notify', 6],
    ]);
    expect(graph.roots).toEqual(['lookup', 'audit']);
    expect(graph.dependents.get('score')).toEqual(['close', 'block']);
    expect(graph.dependents.get('lookup')).toEqual(['score', 'notify']);
    expect(graph.dependents.get('close')).toEqual([]);
  });

  it('counts a repeated dependency once', () => {
    const graph = buildGraph([
      { id: 'a', depends_on: [] },
      { id: 'b', depends_on: ['a', 'a'] },
    ]);
    expect(graph.order).toEqual(['a', 'b']);
    expect(graph.dependents.get('a')).toEqual(['b']);
  });

  it('handles a 200-task chain declared in reverse', () => {
    const tasks = Array.from({ length: 200 }, (_, i) => ({ id: `t${i}`, depends_on: i === 199 ? [] : [`t${i + 1}`] }));
    const graph = buildGraph(tasks);
    expect(graph.order[0]).toBe('t199');
    expect(graph.seq.get('t0')).toBe(200);
  });

  it('throws on cycles and unknown dependencies', () => {
    expect(() =>
      buildGraph([
        { id: 'a', depends_on: ['b'] },
        { id: 'b', depends_on: ['a'] },
      ]),
    ).toThrow(/cycle/);
    expect(() => buildGraph([{ id: 'a', depends_on: ['x'] }])).toThrow(/unknown/);
  });
});

describe('decideReadiness', () => {
  const ok: DependencyOutcome = { status: 'succeeded', on_failure: 'fail' };
  const skipped: DependencyOutcome = { status: 'skipped', on_failure: 'fail' };
  const cancelled: DependencyOutcome = { status: 'cancelled', on_failure: 'fail' };
  const failedFail: DependencyOutcome = { status: 'failed', on_failure: 'fail' };
  const failedContinue: DependencyOutcome = { status: 'failed', on_failure: 'continue' };
  const running: DependencyOutcome = { status: 'running', on_failure: 'fail' };
  const queued: DependencyOutcome = { status: 'queued', on_failure: 'fail' };

  it.each([
    ['all', [ok, ok], 'run'],
    ['all', [ok, failedContinue], 'run'],
    ['all', [failedContinue], 'run'],
    ['all', [ok, skipped], 'skip'],
    ['all', [ok, cancelled], 'skip'],
    ['all', [ok, failedFail], 'skip'],
    ['all', [ok, running], 'wait'],
    ['all', [skipped, queued], 'wait'],
    ['any', [ok, skipped], 'run'],
    ['any', [failedFail, ok], 'run'],
    ['any', [skipped, skipped], 'skip'],
    ['any', [skipped, failedFail], 'skip'],
    ['any', [failedContinue], 'skip'],
    ['any', [cancelled, skipped], 'skip'],
    ['any', [ok, running], 'wait'],
  ] as const)('join %s with %j -> %s', (join, outcomes, expected) => {
    const depends_on = outcomes.map((_, i) => `d${i}`);
    const depOutcomes = Object.fromEntries(outcomes.map((o, i) => [`d${i}`, o]));
    expect(decideReadiness({ join, depends_on }, depOutcomes)).toBe(expected);
  });

  it('runs a task without dependencies and waits for an unknown outcome', () => {
    expect(decideReadiness({ join: 'all', depends_on: [] }, {})).toBe('run');
    expect(decideReadiness({ join: 'any', depends_on: [] }, {})).toBe('run');
    expect(decideReadiness({ join: 'all', depends_on: ['x'] }, {})).toBe('wait');
    expect(decideReadiness({ join: 'all', depends_on: ['constructor'] }, {})).toBe('wait');
  });
});
