/**
 * The task filters of the state machine's transitions (lib/engine/model.ts TASK_TRANSITIONS):
 * each conditional update matches the phases its transition may start from, and nothing else.
 * The phase conditions are built from the model's lists; test/unit/task-filters.test.ts checks
 * every filter against them, phase by phase.
 */
import type { Filter } from 'mongodb';
import type { TaskStatus } from '../../domain/statuses.js';
import { type RunRef, TASK_TRANSITIONS, type TaskPhase, taskKey } from '../../engine/model.js';
import type { ClaimRequest } from '../../engine/ports/task-claims.js';
import type { TaskDoc } from './run-filters.js';

/**
 * The condition "in one of `phases`": statuses as they are, except `running`, which is a claimed
 * task (a claim set) or an unclaimed one (no claim) unless both are wanted.
 */
export function phaseFilter(phases: readonly TaskPhase[]): Filter<TaskDoc> {
  const claimed = phases.includes('claimed');
  const unclaimed = phases.includes('unclaimed');
  const statuses: TaskStatus[] = phases.filter((p): p is Exclude<TaskPhase, 'claimed' | 'unclaimed'> => {
    return p !== 'claimed' && p !== 'unclaimed';
  });
  if (claimed && unclaimed) statuses.push('running');
  const byStatus = statuses.length === 1 ? { status: statuses[0] } : { status: { $in: statuses } };
  const running = claimed === unclaimed ? undefined : { status: 'running', claim: unclaimed ? null : { $ne: null } };
  if (!running) return byStatus as Filter<TaskDoc>;
  return (statuses.length === 0 ? running : { $or: [byStatus, running] }) as Filter<TaskDoc>;
}

const byKey = (ref: RunRef, taskId: string) => ({ _id: taskKey(ref.peid, taskId), tenant_code: ref.tenant_code });

/** One filter per transition (plus the key of the task, or of the runs, it applies to). */
export const TASK_FILTERS = {
  /** `claim`: queued at the attempt before this one, or claimed for this attempt by a holder whose lease ran out. */
  claim(c: ClaimRequest, now: number): Filter<TaskDoc> {
    return {
      ...byKey(c, c.task_id),
      $or: [
        { ...phaseFilter(['queued']), attempts: c.attempt - 1 },
        // The worker that held this attempt died: its lease ran out, take it over (a set `claim.until` is a claim).
        { status: 'running', attempts: c.attempt, 'claim.until': { $lt: now } },
      ],
    } as Filter<TaskDoc>;
  },
  /** `result` and `wait`: only the holder of the claim (a claimed task, by the batch's token). */
  heldBy(ref: RunRef, taskId: string, token: string): Filter<TaskDoc> {
    return { ...byKey(ref, taskId), 'claim.token': token };
  },
  /** `decide`: a pending task; one caller wins it. */
  decide(ref: RunRef, taskId: string): Filter<TaskDoc> {
    return { ...byKey(ref, taskId), ...phaseFilter(TASK_TRANSITIONS.decide.from) };
  },
  /** `finishWait`: a running task without a claim (a loop for its items, a task for its child run). */
  finishWait(ref: RunRef, taskId: string): Filter<TaskDoc> {
    return { ...byKey(ref, taskId), ...phaseFilter(TASK_TRANSITIONS.finishWait.from) };
  },
  /** `cancel`: the open tasks of some runs of one tenant. */
  cancel(tenant_code: string, peids: string[]): Filter<TaskDoc> {
    const peid = peids.length === 1 ? peids[0] : { $in: peids };
    return { peid, tenant_code, ...phaseFilter(TASK_TRANSITIONS.cancel.from) } as Filter<TaskDoc>;
  },
  /** `failDeadLetter`: a task that has not finished. */
  failDeadLetter(ref: RunRef, taskId: string): Filter<TaskDoc> {
    return { ...byKey(ref, taskId), ...phaseFilter(TASK_TRANSITIONS.failDeadLetter.from) };
  },
  /** `startWait`: the claimed task, only by the holder of the claim. */
  startWait(ref: RunRef, taskId: string, token: string): Filter<TaskDoc> {
    return { ...byKey(ref, taskId), ...phaseFilter(TASK_TRANSITIONS.startWait.from), 'claim.token': token };
  },
  /**
   * `answer`: an approval still waiting before its deadline (`until` after `now`); a callback also
   * names its token's hash, so a token answers only its own question.
   */
  answer(ref: RunRef, taskId: string, now: number, tokenHash?: string): Filter<TaskDoc> {
    return {
      ...byKey(ref, taskId),
      ...phaseFilter(TASK_TRANSITIONS.answer.from),
      'wait.kind': 'approval',
      'wait.until': { $gt: now },
      ...(tokenHash === undefined ? {} : { 'approval.token_hash': tokenHash }),
    } as Filter<TaskDoc>;
  },
  /** `timeout`: an approval still waiting at the timer's attempt, its deadline reached at `now`. */
  timeout(ref: RunRef, taskId: string, attempt: number, now: number): Filter<TaskDoc> {
    return {
      ...byKey(ref, taskId),
      ...phaseFilter(TASK_TRANSITIONS.timeout.from),
      attempts: attempt,
      'wait.kind': 'approval',
      'wait.until': { $lte: now },
    } as Filter<TaskDoc>;
  },
  /** `endDelay`: a delay still waiting at the timer's attempt, its time reached at `now`. */
  endDelay(ref: RunRef, taskId: string, attempt: number, now: number): Filter<TaskDoc> {
    return {
      ...byKey(ref, taskId),
      ...phaseFilter(TASK_TRANSITIONS.endDelay.from),
      attempts: attempt,
      'wait.kind': 'delay',
      'wait.until': { $lte: now },
    } as Filter<TaskDoc>;
  },
  /** `reset`: a task a redrive may reset (a succeeded one keeps its output). */
  reset(ref: RunRef, taskId: string): Filter<TaskDoc> {
    return { ...byKey(ref, taskId), ...phaseFilter(TASK_TRANSITIONS.reset.from) };
  },
  /** `redo`: a succeeded task whose containment was undone, which a redrive runs again. */
  redo(ref: RunRef, taskId: string): Filter<TaskDoc> {
    return { ...byKey(ref, taskId), ...phaseFilter(TASK_TRANSITIONS.redo.from), 'undo.state': 'undone' };
  },
};
