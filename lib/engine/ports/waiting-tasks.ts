/**
 * Tasks that wait without a claim: a `playbook` task for its child run, a loop for its items.
 * Their result (or their retry) is written once, by whoever wakes them first.
 */
import type { RunRef } from '../model.js';
import type { TaskResult } from './task-claims.js';

export interface WaitingTasks {
  /** Records that a claimed task now waits for the child run `childPeid` (releases its claim). */
  markWaiting(ref: RunRef, taskId: string, childPeid: string, token: string, now: number): Promise<boolean>;
  /**
   * Writes the result (or the queued retry) of a waiting task, exactly once, whatever its open
   * items (a loop whose failed item ends the run); true if this call did.
   */
  finishWaiting(ref: RunRef, taskId: string, result: TaskResult, now: number): Promise<boolean>;
}
