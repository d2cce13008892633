/**
 * A failed task whose `on_failure` is `fail` ends its run: the record of that end is built here,
 * once, whichever stage saw the failure (a task's result, a loop's, a child run's), and the
 * runs are ended after the batch's results are written.
 */
import { logger } from '../../observability.js';
import type { ExecutionRecord, RunRef, TaskError, TaskRecord } from '../model.js';
import type { RunEnds } from '../ports/run-ends.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { WaitingTasks } from '../ports/waiting-tasks.js';
import { endRun } from '../run-lifecycle.js';

/** A run to fail, and why. */
export interface Fatal {
  run: RunRef & Pick<ExecutionRecord, 'createddate' | 'parent'>;
  error: TaskError;
  /** The loop task whose failed item ends the run (it fails with its item). */
  loop?: string;
}

/** The end of the run of `task`, which failed with `error`, when the task's failure ends its run. */
export function fatalOf(
  task: Pick<TaskRecord, 'tenant_code' | 'peid' | 'task_id' | 'item_of' | 'def'>,
  exec: ExecutionRecord,
  status: string,
  error: TaskError | null,
): Fatal | undefined {
  if (status !== 'failed' || task.def.on_failure !== 'fail') return undefined;
  return {
    run: { tenant_code: exec.tenant_code, peid: exec.peid, createddate: exec.createddate, parent: exec.parent },
    error: { code: 'TASK_FAILED', message: `task '${task.task_id}' failed: ${error?.message ?? 'unknown error'}` },
    ...(task.item_of !== undefined ? { loop: task.item_of } : {}),
  };
}

/**
 * Fails the runs: a loop failing with its item first (its other items are cancelled with the
 * run), then the run's end (run-lifecycle.ts: its unstarted tasks and sub-playbook runs are
 * cancelled, its parent woken). Nothing new starts in these runs.
 */
export async function endFailedRuns(
  deps: { runs: RunEnds & WaitingTasks; queue: TaskQueue; clock: () => number },
  fatal: Map<string, Fatal>,
): Promise<void> {
  for (const f of fatal.values()) {
    const now = deps.clock();
    const ref = { tenant_code: f.run.tenant_code, peid: f.run.peid };
    if (f.loop !== undefined) {
      const result = { output_json: null, truncated: false, error: f.error, finished_at: now, duration_ms: null };
      await deps.runs.finishWaiting(ref, f.loop, { status: 'failed', ...result }, now);
    }
    if (await endRun(deps, f.run, 'failed', now, f.error))
      logger.info('run failed', { peid: ref.peid, tenant_code: ref.tenant_code, error: f.error.code });
  }
}
