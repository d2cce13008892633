/**
 * Tasks that wait without a claim (the LoopItems and WaitingTasks ports): a for_each loop and its
 * items (written once, closed position by position, the loop's result written by whoever closes
 * the last one) and a `playbook` task waiting for its child run.
 */
import type { Db } from 'mongodb';
import { type RunRef, taskKey } from '../../engine/model.js';
import type { LoopItems } from '../../engine/ports/loop-items.js';
import type { TaskResult } from '../../engine/ports/task-claims.js';
import type { WaitingTasks } from '../../engine/ports/waiting-tasks.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed } from './indexed.js';
import { insertTasks, type TaskDoc } from './run-filters.js';
import { TASK_FILTERS } from './task-filters.js';

const T = COLLECTIONS.tasks;

export const WAITING_QUERIES = defineQueries('waiting', {
  // The holder hands its claim over to the items or the child run.
  taskHeldBy: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code', 'claim.token'] },
  // A waiting task (running, no claim); a loop's result also waits for its last open item.
  waitingTask: {
    collection: T,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'status', 'claim', 'open_items'],
  },
  loopTask: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code'] },
  // The items of one loop task: at most 1,000 documents, sorted in memory.
  itemsOfLoop: {
    collection: T,
    index: 'peid_item_seq',
    prefix: ['peid', 'item_of'],
    residual: ['tenant_code'],
    sort: { key: { item_index: 1 }, by: 'memory' },
  },
});

export function createWaitingStore(db: Db): LoopItems & WaitingTasks {
  const tasks = db.collection<TaskDoc>(T);

  /** Releases the claim of a task its holder hands over (`fields`: what it now waits for). */
  async function handOver(ref: RunRef, taskId: string, token: string, fields: Partial<TaskDoc>): Promise<boolean> {
    // index: _id
    const res = await timedDbCall(() =>
      tasks.updateOne(indexed(WAITING_QUERIES.taskHeldBy, TASK_FILTERS.heldBy(ref, taskId, token)), {
        $set: { claim: null, ...fields },
      }),
    );
    return res.matchedCount === 1;
  }

  /** Writes the result of a waiting task, once; `settled`: only once its loop has no open item. */
  async function finish(ref: RunRef, taskId: string, result: TaskResult, now: number, settled: boolean) {
    // index: _id
    const res = await timedDbCall(() =>
      tasks.updateOne(
        indexed(WAITING_QUERIES.waitingTask, {
          ...TASK_FILTERS.finishWait(ref, taskId),
          ...(settled ? { open_items: { $size: 0 } } : {}),
        }),
        { $set: { ...result, updateddate: now } },
      ),
    );
    return res.matchedCount === 1;
  }

  return {
    async markWaiting(ref, taskId, childPeid, token, now) {
      return handOver(ref, taskId, token, { child_peid: childPeid, updateddate: now });
    },

    async finishWaiting(ref, taskId, result, now) {
      // A child run's outcome, or a loop whose failed item ends the run: whatever the open items.
      return finish(ref, taskId, result, now, false);
    },

    async insertItems(items) {
      // A redelivered expansion finds its items already there (duplicate _id): keep them.
      await insertTasks(tasks, items);
    },

    async markExpanded(ref, taskId, total, token, now) {
      const open_items = Array.from({ length: total }, (_, i) => i);
      return handOver(ref, taskId, token, { items_total: total, open_items, updateddate: now });
    },

    async closeItems(ref, taskId, indices, now) {
      // index: _id
      return timedDbCall(() =>
        tasks.findOneAndUpdate(
          indexed(WAITING_QUERIES.loopTask, { _id: taskKey(ref.peid, taskId), tenant_code: ref.tenant_code }),
          { $pullAll: { open_items: indices }, $set: { updateddate: now } },
          { returnDocument: 'after', projection: { _id: 0, transition_token: 0 } },
        ),
      );
    },

    async loadItems(ref, taskId) {
      // index: peid_item_seq (at most 1,000 items, sorted in memory)
      const docs = await timedDbCall(() =>
        tasks
          .find(
            indexed(WAITING_QUERIES.itemsOfLoop, { peid: ref.peid, tenant_code: ref.tenant_code, item_of: taskId }),
            {
              projection: { _id: 0, item_index: 1, status: 1, output_json: 1, error: 1 },
            },
          )
          .toArray(),
      );
      return docs.sort((a, b) => (a.item_index ?? 0) - (b.item_index ?? 0));
    },

    async finishLoop(ref, taskId, result, now) {
      return finish(ref, taskId, result, now, true);
    },
  };
}
