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
    // A containment whose undo ran (what `redo` also asks of a succeeded task).
    undo: { state: 'undone' },
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
  startWait: () => TASK_FILTERS.startWait(ref, 'x', TOKEN),
  answer: () => TASK_FILTERS.answer(ref, 'x', NOW, 'hash'),
  timeout: () => TASK_FILTERS.timeout(ref, 'x', 2, NOW),
  endDelay: () => TASK_FILTERS.endDelay(ref, 'x', 2, NOW),
  cancel: () => TASK_FILTERS.cancel('t', ['p']),
  failDeadLetter: () => TASK_FILTERS.failDeadLetter(ref, 'x'),
  reset: () => TASK_FILTERS.reset(ref, 'x'),
  redo: () => TASK_FILTERS.redo(ref, 'x'),
};

/**
 * What a task in any phase also holds for the transitions that read more than the phase: the
 * wait an answer or a timer looks for (an approval answered before its deadline, an approval or
 * a delay whose time has come), so only the phase decides whether they match.
 */
const CONTEXT: Partial<Record<TaskTransition, Record<string, unknown>>> = {
  answer: { wait: { kind: 'approval', since: 0, until: NOW + 1 }, approval: { token_hash: 'hash' } },
  timeout: { wait: { kind: 'approval', since: 0, until: NOW } },
  endDelay: { wait: { kind: 'delay', since: 0, until: NOW } },
};
const docFor = (name: TaskTransition, phase: TaskPhase, extra: Record<string, unknown> = {}) =>
  docIn(phase, { ...CONTEXT[name], ...extra });

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
      const matched = TASK_PHASES.filter((p) => matches(FILTERS[name](), docFor(name, p)));
      expect(matched).toEqual(TASK_PHASES.filter((p) => from.includes(p)));
    });

    it(`${name}: never matches another tenant's task`, () => {
      for (const p of TASK_PHASES)
        expect(matches(FILTERS[name](), docFor(name, p, { tenant_code: 'other' }))).toBe(false);
    });
  }

  it("claim: not while the holder's lease runs, nor from another attempt", () => {
    const claim = FILTERS.claim();
    expect(matches(claim, docIn('claimed', { claim: { token: 'other', until: NOW + 1 } }))).toBe(false);
    expect(matches(claim, docIn('claimed', { claim: { token: 'other', until: NOW } }))).toBe(false);
    expect(matches(claim, docIn('queued', { attempts: 2 }))).toBe(false);
    expect(matches(claim, docIn('claimed', { attempts: 1 }))).toBe(false);
  });

  it('redo: only a succeeded task whose undo ran, not one whose containment is still in effect', () => {
    for (const state of ['active', 'undoing', 'undo_failed']) {
      expect(matches(FILTERS.redo(), docIn('succeeded', { undo: { state } }))).toBe(false);
    }
    expect(matches(FILTERS.redo(), docIn('succeeded', { undo: undefined }))).toBe(false);
  });

  it('result and wait: only the holder of the claim', () => {
    expect(matches(FILTERS.result(), docIn('claimed', { claim: { token: 'other', until: NOW + 1 } }))).toBe(false);
  });

  it('startWait: only the holder of the claim', () => {
    expect(matches(FILTERS.startWait(), docIn('claimed', { claim: { token: 'other', until: NOW + 1 } }))).toBe(false);
  });

  it('answer: an approval before its deadline only, and a callback only with its own token', () => {
    const waiting = (wait: object, extra: object = {}) => docIn('waiting', { wait, ...extra });
    const open = { kind: 'approval', since: 0, until: NOW + 1 };
    expect(matches(FILTERS.answer(), waiting(open, { approval: { token_hash: 'hash' } }))).toBe(true);
    expect(matches(FILTERS.answer(), waiting({ ...open, until: NOW }, { approval: { token_hash: 'hash' } }))).toBe(
      false,
    );
    expect(matches(FILTERS.answer(), waiting({ ...open, kind: 'delay' }, { approval: { token_hash: 'hash' } }))).toBe(
      false,
    );
    expect(matches(FILTERS.answer(), waiting(open, { approval: { token_hash: 'other' } }))).toBe(false);
    // An analyst (no token) answers whatever the token.
    expect(matches(TASK_FILTERS.answer(ref, 'x', NOW), waiting(open, { approval: { token_hash: 'other' } }))).toBe(
      true,
    );
  });

  it('timeout and endDelay: only at their attempt, their time reached, for their kind of wait', () => {
    const at = (kind: string, until: number, attempts = 2) =>
      docIn('waiting', { wait: { kind, since: 0, until }, attempts });
    expect(matches(FILTERS.timeout(), at('approval', NOW))).toBe(true);
    expect(matches(FILTERS.timeout(), at('approval', NOW + 1))).toBe(false);
    expect(matches(FILTERS.timeout(), at('approval', NOW, 3))).toBe(false);
    expect(matches(FILTERS.timeout(), at('delay', NOW))).toBe(false);
    expect(matches(FILTERS.endDelay(), at('delay', NOW - 5))).toBe(true);
    expect(matches(FILTERS.endDelay(), at('delay', NOW + 1))).toBe(false);
    expect(matches(FILTERS.endDelay(), at('delay', NOW, 1))).toBe(false);
    expect(matches(FILTERS.endDelay(), at('approval', NOW))).toBe(false);
  });

  it('phaseFilter matches exactly the phases it is given, for every set of phases', () => {
    for (let mask = 1; mask < 1 << TASK_PHASES.length; mask++) {
      const wanted = TASK_PHASES.filter((_, i) => mask & (1 << i));
      const matched = TASK_PHASES.filter((p) => matches(phaseFilter(wanted), docIn(p)));
      expect(matched).toEqual(wanted);
    }
  });
});
