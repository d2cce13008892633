/**
 * for_each loops in a batch (lib/engine/for-each.ts): an expanded loop writes its items and hands
 * its claim over to them, its first window queued; finished items hand their window slot over,
 * leave their loop's open set, and the call that empties the set finishes the loop. Idempotent
 * under redelivery.
 */
import { logger } from '../../observability.js';
import { loopResult, planItems, successorOf } from '../for-each.js';
import { type ExecutionRecord, itemTaskId, loopSettled, type RunRef, type TaskRecord, taskKey } from '../model.js';
import type { LoopItems } from '../ports/loop-items.js';
import type { PendingTransition, TaskClaims } from '../ports/task-claims.js';
import type { OutgoingTaskMessage } from '../ports/task-queue.js';
import { initialDelaySeconds, taskMessage } from '../task-messages.js';
import { type Fatal, fatalOf } from './fatal.js';

export interface LoopDeps {
  runs: LoopItems & Pick<TaskClaims, 'transitionPending'>;
  clock: () => number;
  outputMaxBytes: number;
}

/** Writes the items of each expanded loop and hands the loop's claim over to them; the first window's messages. */
export async function startLoops(
  deps: LoopDeps,
  expansions: Array<{ task: TaskRecord; items: unknown[] }>,
  token: string,
): Promise<OutgoingTaskMessage[]> {
  const messages: OutgoingTaskMessage[] = [];
  for (const { task, items } of expansions) {
    const now = deps.clock();
    const plan = planItems(task, items, now);
    await deps.runs.insertItems(plan.docs);
    const ref = { tenant_code: task.tenant_code, peid: task.peid };
    await deps.runs.markExpanded(ref, task.task_id, items.length, token, now);
    for (const index of plan.queued) {
      const item = { ...task, task_id: itemTaskId(task.task_id, index) };
      messages.push(taskMessage(item, 1, initialDelaySeconds(task.def)));
    }
    logger.info('loop expanded', { ...ref, task_id: task.task_id, items: items.length });
  }
  return messages;
}

export interface Settled {
  /** Loops finished here (the fan-in decides their dependents). */
  done: TaskRecord[];
  /** Window successors this call queued. */
  messages: OutgoingTaskMessage[];
  fatal: Fatal[];
}

/**
 * Settles finished items (now, or earlier and redelivered) of running runs not failing in this
 * batch (`failing`): each queues its window successor (atomic pending->queued), leaves its loop's
 * open set, and the call that empties the set writes the loop's result.
 */
export async function settleItems(
  deps: LoopDeps,
  items: TaskRecord[],
  execs: Map<string, ExecutionRecord>,
  failing: (peid: string) => boolean,
  token: string,
): Promise<Settled> {
  const byLoop = new Map<string, TaskRecord[]>();
  for (const item of items) {
    if (failing(item.peid) || execs.get(item.peid)?.execution_status !== 'running') continue;
    const key = taskKey(item.peid, item.item_of ?? '');
    byLoop.set(key, [...(byLoop.get(key) ?? []), item]);
  }
  const out: Settled = { done: [], messages: [], fatal: [] };
  for (const group of byLoop.values()) {
    const first = group[0] as TaskRecord;
    const ref: RunRef = { tenant_code: first.tenant_code, peid: first.peid };
    const loopId = first.item_of ?? '';
    const now = deps.clock();
    const indices = group.map((i) => i.item_index ?? 0);
    const loop = await deps.runs.closeItems(ref, loopId, indices, now);
    if (!loop) continue;
    out.messages.push(...(await queueSuccessors(deps, ref, loopId, group, token, now)));
    if (!loopSettled(loop)) continue;
    const result = loopResult(await deps.runs.loadItems(ref, loopId), deps.outputMaxBytes, now, loop.started_at);
    if (!(await deps.runs.finishLoop(ref, loopId, result, now))) continue;
    out.done.push({ ...loop, status: result.status });
    const fatal = fatalOf(loop, execs.get(loop.peid) as ExecutionRecord, result.status, result.error);
    if (fatal) out.fatal.push(fatal);
  }
  return out;
}

/** The window successors of finished items, queued by whoever wins them. */
async function queueSuccessors(
  deps: LoopDeps,
  ref: RunRef,
  loopId: string,
  items: TaskRecord[],
  token: string,
  now: number,
): Promise<OutgoingTaskMessage[]> {
  const successors: PendingTransition[] = [];
  for (const item of items) {
    const next = successorOf(item);
    if (next !== undefined) successors.push({ ...ref, task_id: itemTaskId(loopId, next), to: 'queued' });
  }
  const won = await deps.runs.transitionPending(successors, token, now);
  const delay = initialDelaySeconds((items[0] as TaskRecord).def);
  return successors.filter((t) => won.has(taskKey(t.peid, t.task_id))).map((t) => taskMessage(t, 1, delay));
}
