/**
 * Undo and rollback messages that reached the dead-letter queue (the consumer failed on them
 * maxReceiveCount times). They never fail a task or a run: an undo's containment becomes
 * `undo_failed` (it may still be in effect: logged, the UndosFailed metric), and a run being
 * rolled back starts the undos that one was holding back.
 */
import { logger, MetricUnit, metrics } from '../observability.js';
import type { ExecutionRecord, TaskMessage } from './model.js';
import type { RunRecords } from './ports/run-records.js';
import type { TaskQueue } from './ports/task-queue.js';
import type { UndoStore } from './ports/undo.js';
import { rollbackMessage, rollingBack } from './rollback.js';

export interface DeadUndoDeps {
  runs: Pick<RunRecords, 'getExecution'>;
  undos: UndoStore;
  queue: TaskQueue;
  clock: () => number;
}

/** Records the dead-lettered undo messages' undos failed; how many changed. */
export async function failDeadUndos(deps: DeadUndoDeps, messages: TaskMessage[]): Promise<number> {
  let failed = 0;
  const runs = new Map<string, { tenant_code: string; peid: string }>();
  for (const msg of messages) {
    const ref = { tenant_code: msg.tenant_code, peid: msg.peid };
    if (msg.rollback === true || msg.timer === 'rollback') {
      logger.error('a rollback start was dead-lettered: its undos start again when the rollback is repeated', ref);
      metrics.addMetric('RollbacksDeadLettered', MetricUnit.Count, 1);
      continue;
    }
    const changed = await deps.undos.failUndo(
      { ...ref, task_id: msg.task_id },
      msg.attempt,
      { code: 'POISON_MESSAGE', message: 'the undo could not be processed after repeated deliveries' },
      deps.clock(),
    );
    if (!changed) continue;
    failed += 1;
    runs.set(msg.peid, ref);
    logger.error('undo failed by a dead-lettered message: the containment stays in effect', {
      ...ref,
      task_id: msg.task_id,
    });
  }
  if (failed > 0) metrics.addMetric('UndosFailed', MetricUnit.Count, failed);
  const execs = await Promise.all([...runs.values()].map((r) => deps.runs.getExecution(r)));
  const rolled = execs.filter((e): e is ExecutionRecord => e !== null && rollingBack(e));
  if (rolled.length > 0) await deps.queue.send(rolled.map((e) => rollbackMessage(e, e.attempt ?? 1)));
  return failed;
}
