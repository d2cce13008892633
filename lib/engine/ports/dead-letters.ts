/** Forced failures of dead-lettered tasks (lib/engine/dead-letters.ts). */
import type { RunRef, TaskError } from '../model.js';

export interface DeadLetterStore {
  /** Marks the given tasks failed unless they already reached a terminal status. */
  failTasks(tasks: Array<RunRef & { task_id: string }>, error: TaskError, now: number): Promise<void>;
}
