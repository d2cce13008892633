/**
 * Runs and their tasks in `playbook_execution_collection` and `task_execution_collection`: the
 * RunStore, one port per concern (lib/engine/ports/run-store.ts). This module writes and reads
 * runs and ends them; the other concerns have modules of their own (task-claims-store.ts,
 * waiting-store.ts, redrive-store.ts, run-tree-store.ts). Every filter carries tenant_code; every
 * state change is a conditional single-document update, so concurrent and repeated deliveries
 * cannot apply a transition twice.
 */
import type { Db, Filter } from 'mongodb';
import type { RunStore } from '../../engine/ports/run-store.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { executionSearch } from './execution-search.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';
import { createRedriveStore } from './redrive-store.js';
import { createRunCloser, type UpdatePipelines } from './run-close.js';
import { byTenant, type ExecutionDoc, insertTasks, isDuplicateKey, type TaskDoc } from './run-filters.js';
import { createRunTreeStore } from './run-tree-store.js';
import { createTaskClaimsStore } from './task-claims-store.js';
import { TASK_FILTERS } from './task-filters.js';
import { createWaitingStore } from './waiting-store.js';

const X = COLLECTIONS.executions;
const T = COLLECTIONS.tasks;

/** A run search by one field (`field`, then the status, newest first) on its index. */
function byFilter(field: string, index: string) {
  return {
    collection: X,
    index,
    prefix: ['tenant_code', field, 'execution_status', 'createddate'],
    residual: ['peid'],
    sort: { key: { createddate: -1, peid: -1 } as const, by: 'index' as const },
  };
}

/** Every filter this store sends (see indexed.ts); `_id` = peid for executions, `peid:task_id` for tasks. */
export const RUN_QUERIES = defineQueries('runs', {
  execById: { collection: X, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code'] },
  // Once: only a running execution moves to a terminal status.
  execRunningById: { collection: X, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code', 'execution_status'] },
  execsByStatus: {
    collection: X,
    index: 'tenant_status_created',
    prefix: ['tenant_code', 'execution_status', 'createddate'],
    residual: ['peid'],
    sort: { key: { createddate: -1, peid: -1 }, by: 'index' },
  },
  execsNewest: {
    collection: X,
    index: 'tenant_created',
    prefix: ['tenant_code', 'createddate'],
    residual: ['peid'],
    sort: { key: { createddate: -1, peid: -1 }, by: 'index' },
  },
  // One per filter of GET /executions; execution_status is always given (all four when the caller names none).
  execsByPlaybook: byFilter('playbook_name', 'tenant_playbook_status_created'),
  execsByAlert: byFilter('alert_id', 'tenant_alert_status_created'),
  execsByTrigger: byFilter('trigger.type', 'tenant_trigger_status_created'),
  execsByMode: byFilter('mode', 'tenant_mode_status_created'),
  // A peid selects at most 200 tasks: tenant_code and status are checked on those.
  tasksOfRun: {
    collection: T,
    index: 'peid_seq',
    prefix: ['peid'],
    residual: ['tenant_code', 'status'],
    sort: { key: { task_seq: 1 }, by: 'index' },
  },
  // Open tasks of a run: pending/queued, or tasks waiting on items or a child run (running without a claim).
  openTasksOfRun: { collection: T, index: 'peid_seq', prefix: ['peid'], residual: ['tenant_code', 'status', 'claim'] },
});

/** A RunStore over the given database; `updatePipelines` (default auto) for closing-and-completing updates (run-close.ts). */
export function createRunStore(db: Db, opts: { updatePipelines?: UpdatePipelines } = {}): RunStore {
  const execs = db.collection<ExecutionDoc>(COLLECTIONS.executions);
  const tasks = db.collection<TaskDoc>(COLLECTIONS.tasks);

  return {
    ...createTaskClaimsStore(db),
    ...createWaitingStore(db),
    ...createRedriveStore(db),
    // Whole-run reads without outputs, sub-playbook runs, the work budget.
    ...createRunTreeStore(db),

    async insertRun(exec, taskRecords) {
      // Two collections, two round trips, sent concurrently.
      const [e, t] = await Promise.allSettled([
        timedDbCall(() => execs.insertOne({ _id: exec.peid, ...exec })),
        insertTasks(tasks, taskRecords),
      ]);
      // A duplicate peid means this very run was written before (a retried sub-playbook start).
      if (e.status === 'rejected' && !isDuplicateKey(e.reason)) throw e.reason;
      if (t.status === 'rejected') throw t.reason;
      return e.status === 'fulfilled';
    },

    async deleteRun(ref) {
      // Both must happen: the caller retries the compensation until it does (a start that
      // failed must not leave a run behind for the reaper to execute or nobody to finish).
      await Promise.all([
        // index: _id
        execs.deleteOne(indexed(RUN_QUERIES.execById, { _id: ref.peid, tenant_code: ref.tenant_code })),
        // index: peid_seq
        tasks.deleteMany(indexed(RUN_QUERIES.tasksOfRun, { peid: ref.peid, tenant_code: ref.tenant_code })),
      ]);
    },

    async getExecution(ref) {
      // index: _id
      return timedDbCall(() =>
        execs.findOne(indexed(RUN_QUERIES.execById, { _id: ref.peid, tenant_code: ref.tenant_code }), {
          projection: { _id: 0 },
        }),
      );
    },

    async listExecutions(tenant_code, query) {
      const { field, where } = executionSearch(tenant_code, query);
      // Without a search field, tenant_status_created (with status) or tenant_created; with one, its own.
      // index: tenant_playbook_status_created, tenant_alert_status_created, tenant_trigger_status_created, tenant_mode_status_created, tenant_status_created, tenant_created
      const spec =
        field === 'playbook_name'
          ? RUN_QUERIES.execsByPlaybook
          : field === 'alert_id'
            ? RUN_QUERIES.execsByAlert
            : field === 'trigger.type'
              ? RUN_QUERIES.execsByTrigger
              : field === 'mode'
                ? RUN_QUERIES.execsByMode
                : query.status
                  ? RUN_QUERIES.execsByStatus
                  : RUN_QUERIES.execsNewest;
      return timedDbCall(() =>
        execs
          .find(indexed(spec, where as Filter<ExecutionDoc>), { projection: { _id: 0, alert_json: 0, open_tasks: 0 } })
          .sort(sortOf(spec))
          .limit(query.limit)
          .toArray(),
      );
    },

    closeTasks: createRunCloser(execs, { updatePipelines: opts.updatePipelines ?? 'auto' }),

    async finishRun(ref, status, now, createddate, error, audit) {
      // index: _id; `execution_status: running` makes the transition happen once.
      const res = await timedDbCall(() =>
        execs.updateOne(
          indexed(RUN_QUERIES.execRunningById, {
            _id: ref.peid,
            tenant_code: ref.tenant_code,
            execution_status: 'running',
          }),
          {
            $set: {
              execution_status: status,
              completeddate: now,
              playbook_runtime: now - createddate,
              updateddate: now,
              ...(error ? { error } : {}),
            },
            ...(audit ? { $push: { audit_pending: audit } } : {}),
          },
        ),
      );
      return res.matchedCount === 1;
    },

    async cancelOpenTasks(refs, now) {
      for (const [tenant_code, peids] of byTenant(refs)) {
        // index: peid_seq; tasks waiting for their items or child run hold no claim: they will not finish on their own now.
        await timedDbCall(() =>
          tasks.updateMany(indexed(RUN_QUERIES.openTasksOfRun, TASK_FILTERS.cancel(tenant_code, peids)), {
            $set: { status: 'cancelled', finished_at: now, updateddate: now },
          }),
        );
      }
    },
  };
}
