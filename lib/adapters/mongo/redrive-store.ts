/** A redrive's writes (the RunRedrive port): reset what did not succeed, reopen the run from the outcome it read. */
import type { Db } from 'mongodb';
import { NOT_STARTED } from '../../engine/model.js';
import type { RunRedrive } from '../../engine/ports/run-redrive.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed } from './indexed.js';
import { bulkTasks, type ExecutionDoc, type TaskDoc } from './run-filters.js';
import { TASK_FILTERS } from './task-filters.js';

export const REDRIVE_QUERIES = defineQueries('redrive', {
  taskResettable: {
    collection: COLLECTIONS.tasks,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'status', 'undo.state'],
  },
  // A redrive reopens a run only from the outcome it read (optimistic on status and attempt).
  execReopen: {
    collection: COLLECTIONS.executions,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'execution_status', 'attempt'],
  },
});

export function createRedriveStore(db: Db): RunRedrive {
  const execs = db.collection<ExecutionDoc>(COLLECTIONS.executions);
  const tasks = db.collection<TaskDoc>(COLLECTIONS.tasks);
  return {
    async resetTasks(ref, resets, now) {
      if (resets.length === 0) return;
      // index: _id; only what did not succeed is reset (a succeeded task keeps its output).
      await bulkTasks(
        tasks,
        resets.map((r) => ({
          updateOne: {
            filter: indexed(
              REDRIVE_QUERIES.taskResettable,
              r.redo ? TASK_FILTERS.redo(ref, r.task_id) : TASK_FILTERS.reset(ref, r.task_id),
            ),
            update: {
              $set: {
                status: r.status,
                ...NOT_STARTED,
                updateddate: now,
                ...(r.open_items !== undefined ? { open_items: r.open_items } : {}),
                ...(r.item_successor !== undefined && r.item_successor !== null
                  ? { item_successor: r.item_successor }
                  : {}),
              },
              // An approval asks again (new question, token and deadline), a delay waits again, an
              // undone containment is applied again (its next success is a new one).
              $unset: {
                wait: '',
                approval: '',
                undo: '',
                ...(r.item_successor === null ? { item_successor: '' } : {}),
              },
            },
          },
        })),
      );
    },

    async reopenRun(ref, previous, openTasks, attempt, now, audit) {
      // index: _id
      const res = await timedDbCall(() =>
        execs.updateOne(
          indexed(REDRIVE_QUERIES.execReopen, {
            _id: ref.peid,
            tenant_code: ref.tenant_code,
            execution_status: previous.execution_status,
            ...(previous.attempt === undefined ? { attempt: { $exists: false } } : { attempt: previous.attempt }),
          }),
          {
            $set: {
              execution_status: 'running',
              attempt,
              open_tasks: openTasks,
              error: null,
              completeddate: null,
              playbook_runtime: null,
              updateddate: now,
            },
            $push: {
              history: {
                attempt: previous.attempt ?? 1,
                execution_status: previous.execution_status,
                error: previous.error ?? null,
                completeddate: previous.completeddate ?? null,
              },
              ...(audit ? { audit_pending: audit } : {}),
            },
          },
        ),
      );
      return res.matchedCount === 1;
    },
  };
}
