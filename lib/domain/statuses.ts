/** Lifecycle of a whole run, as stored in `execution_status`. */
export type ExecutionStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * Lifecycle of one task inside a run, as stored in the task's `status`. `waiting`: an approval
 * waiting for its answer, or a long delay for its time, holding no worker (docs/durable-waits.md);
 * not terminal: it leaves `waiting` for `queued` (answered, timed out, time reached) or `cancelled`.
 */
export type TaskStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'waiting'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'cancelled';

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['running', 'completed', 'failed', 'cancelled'];

export const TASK_STATUSES: readonly TaskStatus[] = [
  'pending',
  'queued',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
];

/** Task statuses that never change again (a redrive creates new attempts, not new statuses). */
export const TERMINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>([
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
]);

/** True when the task has reached a final status and dependents may be decided. */
export function isTerminalTask(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.has(status);
}

/** True when the run has reached a final status. */
export function isTerminalExecution(status: ExecutionStatus): boolean {
  return status !== 'running';
}
