/**
 * The two cross-cutting queries of the maintenance functions: the reaper's
 * sweep for stalled runs and the dead-letter handler's forced task failures.
 */
import type { Db } from 'mongodb';
import type { ExecutionRecord, TaskRecord } from '../../engine/model.js';
import type { DeadLetterStore } from '../../engine/ports/dead-letters.js';
import type { StaleRunFinder } from '../../engine/ports/stale-runs.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';
import { TASK_FILTERS } from './task-filters.js';

type ExecutionDoc = ExecutionRecord & { _id: string };
type TaskDoc = TaskRecord & { _id: string };

export const MAINTENANCE_QUERIES = defineQueries('maintenance', {
  staleRuns: {
    collection: COLLECTIONS.executions,
    index: 'status_updated',
    prefix: ['execution_status', 'updateddate'],
    sort: { key: { updateddate: 1 }, by: 'index' },
  },
  openTaskById: {
    collection: COLLECTIONS.tasks,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'status'],
  },
});

/** The reaper's and dead-letter handler's store over the given database. */
export function createMaintenanceStore(db: Db): StaleRunFinder & DeadLetterStore {
  const execs = db.collection<ExecutionDoc>(COLLECTIONS.executions);
  const tasks = db.collection<TaskDoc>(COLLECTIONS.tasks);
  return {
    async findStaleRuns(cutoff, limit) {
      // index: status_updated. Deliberately across tenants: the reaper is a system sweep.
      return timedDbCall(() =>
        execs
          .find(indexed(MAINTENANCE_QUERIES.staleRuns, { execution_status: 'running', updateddate: { $lt: cutoff } }), {
            projection: { _id: 0, alert_json: 0 },
          })
          .sort(sortOf(MAINTENANCE_QUERIES.staleRuns))
          .limit(limit)
          .toArray(),
      );
    },
    async failTasks(list, error, now) {
      if (list.length === 0) return;
      // index: _id; a task that finished meanwhile keeps its result.
      await timedDbCall(() =>
        tasks.bulkWrite(
          list.map((t) => ({
            updateOne: {
              filter: indexed(MAINTENANCE_QUERIES.openTaskById, TASK_FILTERS.failDeadLetter(t, t.task_id)),
              update: { $set: { status: 'failed', error, claim: null, finished_at: now, updateddate: now } },
            },
          })),
          { ordered: false },
        ),
      );
    },
  };
}
