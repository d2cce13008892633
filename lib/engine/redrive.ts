/**
 * Redrive: re-run only what did not succeed in a failed (or cancelled) run, as
 * a new attempt of the same execution. Failed and cancelled tasks — and the
 * failed or cancelled items of a for_each task — go back to pending, with the
 * tasks skipped only because of them; succeeded outputs are kept, so succeeded
 * integrations are not called again. A succeeded task whose containment was undone
 * (a rollback, or its expiry) is run again too: its effect was reversed, and its new
 * success is a new containment, active with its new output (docs/containment.md).
 * The previous outcome stays in `history`. A run whose rollback has undos still to
 * run cannot be redriven until they have (409).
 */
import { decideReadiness } from '../domain/graph.js';
import { pendingUndos } from '../domain/undo.js';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../errors.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { recordAudit } from './audit.js';
import { executionSource, runRedriven } from './audit-entries.js';
import { itemChains } from './for-each.js';
import type { RunRef } from './model.js';
import { itemTaskId, type TaskRecord } from './model.js';
import type { AuditOutbox } from './ports/audit.js';
import type { RunEnds } from './ports/run-ends.js';
import type { RunRecords } from './ports/run-records.js';
import type { RunRedrive, TaskReset } from './ports/run-redrive.js';
import type { OutgoingTaskMessage, TaskQueue } from './ports/task-queue.js';
import { rollingBack, undoNodes } from './rollback.js';
import { endRun } from './run-lifecycle.js';
import { initialDelaySeconds, taskMessage } from './task-messages.js';

export interface RedriveDeps {
  runs: RunRecords & RunEnds & RunRedrive;
  queue: TaskQueue;
  clock: () => number;
  audit: AuditOutbox;
}

const RERUN = new Set(['failed', 'cancelled']);

/** Starts a new attempt of a failed or cancelled run; answers with the attempt number. */
export async function redriveRun(
  deps: RedriveDeps,
  ref: RunRef,
  actor: string,
): Promise<{ peid: string; execution_status: 'running'; attempt: number }> {
  const exec = await deps.runs.getExecution(ref);
  if (!exec) throw new NotFoundError(`execution '${ref.peid}' not found`);
  if (exec.execution_status !== 'failed' && exec.execution_status !== 'cancelled') {
    throw new ConflictError(
      `execution '${ref.peid}' is ${exec.execution_status}: only failed or cancelled runs can be redriven`,
    );
  }
  // Outputs are not read: succeeded work is kept as it is, whatever its size.
  const [graph, items] = await Promise.all([
    deps.runs.listGraphTasks(ref, { outputs: false }),
    deps.runs.listItemStates(ref),
  ]);
  const byId = new Map(graph.map((t) => [t.task_id, t]));
  if (rollingBack(exec) && pendingUndos(undoNodes(graph)) > 0) {
    throw new ConflictError(
      `execution '${ref.peid}' is being rolled back: redrive it once its undos have run (GET /executions/${ref.peid})`,
    );
  }

  // Failed/cancelled tasks and undone containments, then (transitively) tasks skipped because of them.
  const undone = new Set(
    graph.filter((t) => t.status === 'succeeded' && t.undo?.state === 'undone').map((t) => t.task_id),
  );
  const rerun = new Set([...graph.filter((t) => RERUN.has(t.status)).map((t) => t.task_id), ...undone]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const t of graph) {
      if (t.status === 'skipped' && !rerun.has(t.task_id) && t.def.depends_on.some((d) => rerun.has(d))) {
        rerun.add(t.task_id);
        grew = true;
      }
    }
  }
  if (rerun.size === 0) throw new ConflictError(`execution '${ref.peid}' has nothing to redrive`);

  const resets: TaskReset[] = [];
  const messages: OutgoingTaskMessage[] = [];
  for (const id of rerun) {
    const task = byId.get(id) as TaskRecord;
    const depsDone = task.def.depends_on.every((d) => !rerun.has(d));
    const outcomes = Object.fromEntries(
      task.def.depends_on.map((d) => [
        d,
        { status: byId.get(d)?.status ?? 'pending', on_failure: byId.get(d)?.def.on_failure ?? 'fail' },
      ]),
    );
    const ready = depsDone && decideReadiness(task.def, outcomes as Parameters<typeof decideReadiness>[1]) === 'run';
    const mine = items.filter((t) => t.item_of === id);
    if (task.items_total !== undefined && mine.length > 0 && ready) {
      // An expanded loop: keep its succeeded items, re-run the others under the same window.
      const again = mine.filter((i) => RERUN.has(i.status) || i.status === 'pending').map((i) => i.item_index);
      const { successor, heads } = itemChains(again, task.def.concurrency ?? again.length);
      resets.push({ task_id: id, status: 'running', open_items: again });
      for (const index of again) {
        const head = heads.includes(index);
        resets.push({
          task_id: itemTaskId(id, index),
          status: head ? 'queued' : 'pending',
          item_successor: successor.get(index) ?? null,
        });
        if (head)
          messages.push(taskMessage({ ...task, task_id: itemTaskId(id, index) }, 1, initialDelaySeconds(task.def)));
      }
      continue;
    }
    resets.push({
      task_id: id,
      status: ready ? 'queued' : 'pending',
      ...(undone.has(id) ? { redo: true as const } : {}),
    });
    if (ready) messages.push(taskMessage(task, 1, initialDelaySeconds(task.def)));
  }

  const now = deps.clock();
  const attempt = (exec.attempt ?? 1) + 1;
  await deps.runs.resetTasks(ref, resets, now);
  const entry = runRedriven(exec, actor, now, attempt, rerun.size);
  const reopened = await deps.runs.reopenRun(ref, exec, [...rerun], attempt, now, entry);
  if (!reopened) throw new ConflictError(`execution '${ref.peid}' was changed meanwhile; try again`);
  await recordAudit(deps.audit, executionSource(ref), entry);
  try {
    await deps.queue.send(messages);
  } catch (err) {
    const failedAt = deps.clock();
    await endRun(deps, exec, 'failed', failedAt, {
      code: 'ENQUEUE_FAILED',
      message: 'the task queue refused the redrive',
    });
    throw err instanceof ServiceUnavailableError
      ? err
      : new ServiceUnavailableError('the task queue is unavailable', { cause: err });
  }
  metrics.addMetric('RunsRedriven', MetricUnit.Count, 1);
  logger.info('run redriven', { peid: ref.peid, tenant_code: ref.tenant_code, attempt, tasks: rerun.size });
  return { peid: ref.peid, execution_status: 'running', attempt };
}
