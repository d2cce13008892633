/** What starting and waking sub-playbook runs needs (lib/engine/sub-playbooks.ts). */
import type { PlaybookSource } from './playbook-source.js';
import type { RunStore } from './run-store.js';
import type { TaskQueue } from './task-queue.js';

export interface ChildRunDeps {
  playbooks: PlaybookSource;
  runs: RunStore;
  queue: TaskQueue;
  maxDepth: number;
  /** Work a run and its sub-playbook runs may create together (work-budget.ts); default 5,000. */
  workBudget?: number;
}
