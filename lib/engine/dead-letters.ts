/**
 * Task messages that reached the dead-letter queue: the consumer crashed on them
 * maxReceiveCount times. The task is marked failed and its run failed (its
 * unstarted tasks cancelled), so a poison message cannot leave a run hanging.
 */
import { isTerminalTask } from '../domain/statuses.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import type { RunRef, TaskMessage } from './model.js';
import { taskKey } from './model.js';
import type { DeadLetterStore } from './ports/dead-letters.js';
import type { RunEnds } from './ports/run-ends.js';
import type { RunRecords } from './ports/run-records.js';
import type { TaskClaims } from './ports/task-claims.js';
import type { TaskQueue } from './ports/task-queue.js';
import type { TimerStore } from './ports/timers.js';
import type { UndoStore } from './ports/undo.js';
import { afterEnd, endRun } from './run-lifecycle.js';
import { parseTaskMessage } from './task-messages.js';
import { isUndoMessage } from './undo.js';
import { failDeadUndos } from './undo-dead-letters.js';

export interface DeadLetterDeps {
  runs: Pick<RunRecords, 'getExecution'> & RunEnds & Pick<TaskClaims, 'taskStates'>;
  queue: TaskQueue;
  deadLetters: DeadLetterStore;
  clock: () => number;
  /** The failed runs' durable timers, cancelled with them. */
  timers?: Pick<TimerStore, 'cancelRun'>;
  /** Containments: a dead-lettered undo fails the undo, never its task or run (undo-dead-letters.ts). */
  undos?: UndoStore;
}

/**
 * Fails the tasks and runs of a batch of dead-lettered messages; returns how many runs it failed.
 * A batch handed over again (the handler failed after some runs had ended) repeats what follows
 * each end (cancellations, the parent's wake-up): run-lifecycle.ts.
 */
export async function failDeadLetters(deps: DeadLetterDeps, bodies: string[]): Promise<{ runsFailed: number }> {
  const byKey = new Map<string, RunRef & { task_id: string }>();
  const undoMessages: TaskMessage[] = [];
  for (const body of bodies) {
    const msg = parseTaskMessage(body);
    if (!msg) {
      logger.error('dead letter is not a task message; dropped');
      continue;
    }
    if (isUndoMessage(msg)) {
      undoMessages.push(msg);
      continue;
    }
    byKey.set(taskKey(msg.peid, msg.task_id), { tenant_code: msg.tenant_code, peid: msg.peid, task_id: msg.task_id });
  }
  if (undoMessages.length > 0) {
    if (deps.undos) await failDeadUndos({ ...deps, undos: deps.undos }, undoMessages);
    else logger.error('dead-lettered undo messages without an undo store; dropped', { count: undoMessages.length });
  }
  if (byKey.size === 0) return { runsFailed: 0 };
  const refs = [
    ...new Map([...byKey.values()].map((t) => [t.peid, { tenant_code: t.tenant_code, peid: t.peid }])).values(),
  ];
  // The tasks by key (loop items included), their runs by id: nothing else of the runs is read.
  const [states, executions] = await Promise.all([
    deps.runs.taskStates([...byKey.values()]),
    Promise.all(refs.map((r) => deps.runs.getExecution(r))),
  ]);
  const open = states.filter((t) => !isTerminalTask(t.status));
  const now = deps.clock();
  await deps.deadLetters.failTasks(
    open.map((t) => ({
      tenant_code: byKey.get(taskKey(t.peid, t.task_id))?.tenant_code ?? '',
      peid: t.peid,
      task_id: t.task_id,
    })),
    { code: 'POISON_MESSAGE', message: 'the task could not be processed after repeated deliveries' },
    now,
  );
  let runsFailed = 0;
  for (const exec of executions) {
    if (!exec) continue;
    const ids = [...byKey.values()].filter((t) => t.peid === exec.peid).map((t) => t.task_id);
    if (exec.execution_status !== 'running') {
      // Ended already (by an earlier delivery of this batch, or otherwise): repeat what follows the end.
      await afterEnd(deps, exec, exec.execution_status, now);
      continue;
    }
    const failed = await endRun(deps, exec, 'failed', now, {
      code: 'POISON_MESSAGE',
      message: `task '${ids.join("', '")}' could not be processed after repeated deliveries`,
    });
    if (failed) {
      runsFailed += 1;
      logger.warn('run failed by a dead-lettered task message', {
        peid: exec.peid,
        tenant_code: exec.tenant_code,
        task_ids: ids,
      });
    }
  }
  metrics.addMetric('DeadLetteredTasks', MetricUnit.Count, byKey.size);
  return { runsFailed };
}
