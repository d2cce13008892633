/**
 * Containments in a batch of task messages (docs/containment.md), in a few calls from
 * execute-batch.ts:
 *   - intake: the messages of undos and rollbacks are split off and handled by lib/engine/undo.ts,
 *     alongside the task messages, never claimed as tasks;
 *   - results: a task with an `undo` that succeeded (not a test run's mock) is written with its
 *     undo state `active`; its expiry timer (`undo_after_seconds`) is recorded before that write,
 *     so no success is ever recorded without its timer (a timer whose success was not recorded
 *     finds nothing to undo), and sent at once when due within SQS's 900 s;
 *   - after the write: a task with an `undo` that finished in a run being rolled back (it was
 *     running when the rollback started) starts the rollback's undos again: its own, or those it
 *     was holding back. The run is read after the write, so either this read sees the rollback or
 *     the rollback's read sees the task finished.
 */
import { undoOf } from '../../domain/playbook-schema.js';
import { activeUndo } from '../../domain/undo.js';
import { logger } from '../../observability.js';
import { type ExecutionRecord, type TaskRecord, taskKey } from '../model.js';
import type { TaskResultWrite } from '../ports/task-claims.js';
import { rollbackMessage, rollingBack } from '../rollback.js';
import { parseTaskMessage } from '../task-messages.js';
import { recordTimer, sendTimerIfDue } from '../timers.js';
import { handleUndoMessage, isUndoMessage, type UndoDeps } from '../undo.js';
import type { BatchItem } from './intake.js';

/** Time kept back from the function's remaining time to record an undo's outcome. */
const RECORD_RESERVE_MS = 3_000;

/** The batch's undo and rollback messages, and the rest. */
export function splitUndoItems(items: BatchItem[]): { undo: BatchItem[]; rest: BatchItem[] } {
  const undo: BatchItem[] = [];
  const rest: BatchItem[] = [];
  for (const item of items) {
    const msg = parseTaskMessage(item.body);
    (msg && isUndoMessage(msg) ? undo : rest).push(item);
  }
  return { undo, rest };
}

/**
 * Handles the undo messages (each on its own: one's failure leaves only its own message for a
 * later delivery) while `executeRest` handles the others; the messages to leave on the queue.
 */
export async function withUndos(
  deps: { undo?: UndoDeps; clock: () => number },
  split: { undo: BatchItem[]; rest: BatchItem[] },
  remainingTimeMs: number,
  executeRest: (rest: BatchItem[]) => Promise<{ failedMessageIds: string[] }>,
): Promise<{ failedMessageIds: string[] }> {
  const start = deps.clock();
  const deadline = start + Math.max(1_000, remainingTimeMs - RECORD_RESERVE_MS);
  const undoDeps = deps.undo;
  const [rest, undone] = await Promise.all([
    split.rest.length > 0 ? executeRest(split.rest) : Promise.resolve({ failedMessageIds: [] as string[] }),
    Promise.all(
      split.undo.map(async (item): Promise<string[]> => {
        const msg = parseTaskMessage(item.body);
        if (!msg || !undoDeps) {
          logger.error('undo message without an undo handler', { messageId: item.messageId });
          return [item.messageId];
        }
        const leaseUntil = deadline + RECORD_RESERVE_MS + undoDeps.leaseMarginMs;
        try {
          await handleUndoMessage(undoDeps, msg, deadline, leaseUntil);
          return [];
        } catch (err) {
          logger.error('undo message failed; left for a later delivery', {
            peid: msg.peid,
            tenant_code: msg.tenant_code,
            task_id: msg.task_id,
            error: err as Error,
          });
          return [item.messageId];
        }
      }),
    ),
  ]);
  return { failedMessageIds: [...rest.failedMessageIds, ...undone.flat()] };
}

/** A succeeded write of a task with an undo, and the timer recorded for it (if it expires). */
export interface ContainmentWrite {
  task: TaskRecord;
  timerId?: string;
}

/**
 * The batch's result writes with the undo state of each containment applied (a task with an undo
 * that succeeded, not mocked), after recording the expiry timers of those that expire.
 */
export async function withContainments(
  deps: { undo?: UndoDeps },
  writes: TaskResultWrite[],
  tasks: Map<string, TaskRecord>,
  execs: Map<string, ExecutionRecord>,
): Promise<{ writes: TaskResultWrite[]; containments: ContainmentWrite[] }> {
  const containments: ContainmentWrite[] = [];
  const out = writes.map((w) => {
    const task = tasks.get(taskKey(w.peid, w.task_id));
    const exec = execs.get(w.peid);
    const declared = task && undoOf(task.def);
    if (w.status !== 'succeeded' || w.mocked || !task || !declared || !exec) return w;
    const undo = activeUndo({
      gen: exec.attempt ?? 1,
      playbook_name: exec.playbook_name,
      applied_at: w.finished_at ?? 0,
      undo_after_seconds: declared.undo_after_seconds,
    });
    containments.push({ task: { ...task, undo } });
    return { ...w, undo };
  });
  const timers = deps.undo;
  if (timers) {
    await Promise.all(
      containments.map(async (c) => {
        const undo = c.task.undo;
        if (undo?.undo_at === null || undo === undefined) return;
        c.timerId = await recordTimer(timers, {
          tenant_code: c.task.tenant_code,
          peid: c.task.peid,
          task_id: c.task.task_id,
          attempt: undo.gen,
          kind: 'undo',
          due_at: undo.undo_at,
        });
      }),
    );
  }
  return { writes: out, containments };
}

/**
 * After the result write: the expiry timers due within SQS's 900 s are sent, and the runs being
 * rolled back whose tasks with an undo finished (succeeded, failed or cancelled) start their
 * rollback's undos again.
 */
export async function afterContainments(
  deps: { undo?: UndoDeps },
  containments: ContainmentWrite[],
  finished: TaskRecord[],
): Promise<void> {
  const undo = deps.undo;
  if (!undo) return;
  await Promise.all(containments.flatMap((c) => (c.timerId ? [sendTimerIfDue(undo, c.timerId)] : [])));
  const runs = new Map(
    finished
      .filter((t) => undoOf(t.def) !== undefined)
      .map((t) => [t.peid, { tenant_code: t.tenant_code, peid: t.peid }]),
  );
  if (runs.size === 0) return;
  const execs = await Promise.all([...runs.values()].map((r) => undo.runs.getExecution(r)));
  const rolled = execs.filter((e): e is ExecutionRecord => e !== null && rollingBack(e));
  if (rolled.length > 0) await undo.queue.send(rolled.map((e) => rollbackMessage(e, e.attempt ?? 1)));
}
