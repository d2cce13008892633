/** What starting and waking sub-playbook runs needs (lib/engine/sub-playbooks.ts). */
import type { PlaybookSource } from './playbook-source.js';
import type { RunEnds } from './run-ends.js';
import type { RunRecords } from './run-records.js';
import type { TaskQueue } from './task-queue.js';
import type { WorkCounter } from './work-counter.js';

export interface ChildRunDeps {
  playbooks: PlaybookSource;
  runs: RunRecords & RunEnds & WorkCounter;
  queue: TaskQueue;
  maxDepth: number;
  /** Work a run and its sub-playbook runs may create together (work-budget.ts); default 5,000. */
  workBudget?: number;
}
