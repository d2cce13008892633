/**
 * The state machine of lib/engine/model.ts and the Mongo adapter's filters agree: each
 * transition's filter (lib/adapters/mongo/task-filters.ts) matches a task in exactly the phases
 * the model lets that transition start from. Filters are evaluated with sift, an implementation
 * of MongoDB's query language; the real server runs them in the run-store contract tests.
 */
import sift from 'sift';
import { describe, expect, it } from 'vitest';
import { phaseFilter, TASK_FILTERS } from '../../lib/adapters/mongo/task-filters.js';
import {
  phaseOf,
  TASK_PHASES,
  TASK_TRANSITIONS,
  type TaskPhase,
  type TaskTransition,
  taskKey,
} from '../../lib/engine/model.js';

const NOW = 1_000;
const ref = { tenant_code: 't', peid: 'p' };
const TOKEN = 'tok';

/** A task document in `phase` that meets every other condition of the filters (key, attempt, token, lease). */
function docIn(phase: TaskPhase, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const status = phase === 'claimed' || phase === 'unclaimed' ? 'running' : phase;
  return {
    _id: taskKey('p', 'x'),
    ...ref,
    task_id: 'x',
    status,
    // A claim of attempt 2 starts from queued at attempt 1, or takes over attempt 2.
    attempts: phase === 'queued' ? 1 : 2,
    claim: phase === 'claimed' ? { token: TOKEN, until: NOW - 1 } : null,
    ...extra,
  };
}

/** Each transition's filter, for the task `p:x` of tenant `t`. */
const FILTERS: Record<TaskTransition, () => object> = {
  claim: () => TASK_FILTERS.claim({ ...ref, task_id: 'x', attempt: 2 }, NOW),
  result: () => TASK_FILTERS.heldBy(ref, 'x', TOKEN),
  wait: () => TASK_FILTERS.heldBy(ref, 'x', TOKEN),
  decide: () => TASK_FILTERS.decide(ref, 'x'),
  // An inline task's result is written from pending with the decision's filter.
  inline: () => TASK_FILTERS.decide(ref, 'x'),
  finishWait: () => TASK_FILTERS.finishWait(ref, 'x'),
  cancel: () => TASK_FILTERS.cancel('t', ['p']),
  failDeadLetter: () => TASK_FILTERS.failDeadLetter(ref, 'x'),
  reset: () => TASK_FILTERS.reset(ref, 'x'),
};

/** sift is CommonJS: its tester is the `default` of what the default import gives. */
const tester = sift.default;
const matches = (filter: object, doc: object) => tester(filter as Parameters<typeof tester>[0])(doc);

describe('task filters against the model', () => {
  it('the sample documents are in the phases they are built for', () => {
    for (const phase of TASK_PHASES) expect(phaseOf(docIn(phase) as Parameters<typeof phaseOf>[0])).toBe(phase);
  });

  for (const name of Object.keys(TASK_TRANSITIONS) as TaskTransition[]) {
    it(`${name}: matches exactly the phases it may start from`, () => {
      const from = TASK_TRANSITIONS[name].from as readonly TaskPhase[];
      const matched = TASK_PHASES.filter((p) => matches(FILTERS[name](), docIn(p)));
      expect(matched).toEqual(TASK_PHASES.filter((p) => from.includes(p)));
    });

    it(`${name}: never matches another tenant's task`, () => {
      for (const p of TASK_PHASES) expect(matches(FILTERS[name](), docIn(p, { tenant_code: 'other' }))).toBe(false);
    });
  }

  it("claim: not while the holder's lease runs, nor from another attempt", () => {
    const claim = FILTERS.claim();
    expect(matches(claim, docIn('claimed', { claim: { token: 'other', until: NOW + 1 } }))).toBe(false);
    expect(matches(claim, docIn('claimed', { claim: { token: 'other', until: NOW } }))).toBe(false);
    expect(matches(claim, docIn('queued', { attempts: 2 }))).toBe(false);
    expect(matches(claim, docIn('claimed', { attempts: 1 }))).toBe(false);
  });

  it('result and wait: only the holder of the claim', () => {
    expect(matches(FILTERS.result(), docIn('claimed', { claim: { token: 'other', until: NOW + 1 } }))).toBe(false);
  });

  it('phaseFilter matches exactly the phases it is given, for every set of phases', () => {
    for (let mask = 1; mask < 1 << TASK_PHASES.length; mask++) {
      const wanted = TASK_PHASES.filter((_, i) => mask & (1 << i));
      const matched = TASK_PHASES.filter((p) => matches(phaseFilter(wanted), docIn(p)));
      expect(matched).toEqual(wanted);
    }
  });
});
