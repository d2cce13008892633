/**
 * The reads and writes of a run as a whole and of its tree of sub-playbook runs: a run's graph
 * tasks and its loop items' states (never the items' outputs, values or definitions, so a reader's
 * memory does not grow with its loops), the child runs of runs, their cancellation in bulk, and
 * the tree's work budget. Part of the RunStore (run-store.ts); every filter carries tenant_code.
 */
import type { Db } from 'mongodb';
import type { ChildRunState } from '../../engine/ports/run-ends.js';
import type { ItemState } from '../../engine/ports/run-records.js';
import type { RunStore } from '../../engine/ports/run-store.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';
import { AN_ITEM, BULK_CHUNK, byTenant, chunks, type ExecutionDoc, graphOnly, type TaskDoc } from './run-filters.js';

const X = COLLECTIONS.executions;
const T = COLLECTIONS.tasks;

export const RUN_TREE_QUERIES = defineQueries('runTree', {
  // A run's graph tasks in order (readers, the reaper, redrive): at most 200 documents.
  graphTasksInOrder: {
    collection: T,
    index: 'peid_item_seq',
    prefix: ['peid', 'item_of'],
    residual: ['tenant_code'],
    sort: { key: { task_seq: 1 }, by: 'index' },
  },
  // Every loop item of a run (item_of not null), projected to its state: bounded by the run's work budget.
  itemsOfRun: { collection: T, index: 'peid_item_seq', prefix: ['peid', 'item_of'], residual: ['tenant_code'] },
  // The sub-playbook runs of some runs of one tenant.
  childRuns: { collection: X, index: 'tenant_parent', prefix: ['tenant_code', 'parent.peid'] },
  // Once: only a running execution moves to cancelled.
  execRunningById: { collection: X, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code', 'execution_status'] },
  // A work charge: only while the tree's budget allows it (a missing counter counts as 0).
  execWork: { collection: X, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code', 'work_used'] },
});

/** The fields of a loop item that listItemStates reads. */
const ITEM_STATE_PROJECTION = {
  _id: 0,
  peid: 1,
  tenant_code: 1,
  task_seq: 1,
  task_id: 1,
  type: 1,
  status: 1,
  attempts: 1,
  claim: 1,
  error: 1,
  started_at: 1,
  finished_at: 1,
  duration_ms: 1,
  updateddate: 1,
  child_peid: 1,
  wait: 1,
  item_of: 1,
  item_index: 1,
} as const;

type RunTreeStore = Pick<RunStore, 'listGraphTasks' | 'listItemStates' | 'childRuns' | 'cancelRuns' | 'chargeWork'>;

/** The run-tree part of a RunStore over the given database. */
export function createRunTreeStore(db: Db): RunTreeStore {
  const execs = db.collection<ExecutionDoc>(X);
  const tasks = db.collection<TaskDoc>(T);
  return {
    async listGraphTasks(ref, opts) {
      // index: peid_item_seq (item_of null, then task_seq: filter and sort)
      const docs = await timedDbCall(() =>
        tasks
          .find(
            indexed(RUN_TREE_QUERIES.graphTasksInOrder, graphOnly({ peid: ref.peid, tenant_code: ref.tenant_code })),
            {
              // Never a callback token's hash: readers, the reaper and redrive have no use for it.
              projection: {
                _id: 0,
                transition_token: 0,
                'approval.token_hash': 0,
                ...(opts.outputs ? {} : { output_json: 0 }),
              },
            },
          )
          .sort(sortOf(RUN_TREE_QUERIES.graphTasksInOrder))
          .toArray(),
      );
      return opts.outputs ? docs : docs.map((d) => ({ ...d, output_json: null }));
    },

    async listItemStates(ref) {
      // index: peid_item_seq (item_of not null); outputs, item values and definitions are never read
      const docs = await timedDbCall(() =>
        tasks
          .find(indexed(RUN_TREE_QUERIES.itemsOfRun, { peid: ref.peid, tenant_code: ref.tenant_code, ...AN_ITEM }), {
            projection: ITEM_STATE_PROJECTION,
          })
          .toArray(),
      );
      const items = docs as unknown as ItemState[];
      return items.sort((a, b) => a.task_seq - b.task_seq || a.item_index - b.item_index);
    },

    async childRuns(parents) {
      const out: ChildRunState[] = [];
      for (const [tenant_code, peids] of byTenant(parents)) {
        // index: tenant_parent
        const docs = await timedDbCall(() =>
          execs
            .find(indexed(RUN_TREE_QUERIES.childRuns, { tenant_code, 'parent.peid': { $in: peids } }), {
              projection: { _id: 0, peid: 1, tenant_code: 1, execution_status: 1, createddate: 1, parent: 1 },
            })
            .toArray(),
        );
        out.push(...(docs as ChildRunState[]));
      }
      return out;
    },

    async chargeWork(root, units, budget) {
      // index: _id; the condition and the increment are one atomic update.
      const res = await timedDbCall(() =>
        execs.updateOne(
          indexed(RUN_TREE_QUERIES.execWork, {
            _id: root.peid,
            tenant_code: root.tenant_code,
            work_used: { $not: { $gt: budget - units } },
          }),
          { $inc: { work_used: units } },
        ),
      );
      return res.matchedCount === 1;
    },

    async cancelRuns(runs, now, error) {
      if (runs.length === 0) return;
      // index: _id; `execution_status: running` makes each transition happen once.
      for (const part of chunks(runs, BULK_CHUNK)) {
        await timedDbCall(() =>
          execs.bulkWrite(
            part.map((r) => ({
              updateOne: {
                filter: indexed(RUN_TREE_QUERIES.execRunningById, {
                  _id: r.peid,
                  tenant_code: r.tenant_code,
                  execution_status: 'running',
                }),
                update: {
                  $set: {
                    execution_status: 'cancelled',
                    completeddate: now,
                    playbook_runtime: now - r.createddate,
                    updateddate: now,
                    error,
                  },
                },
              },
            })),
            { ordered: false },
          ),
        );
      }
    },
  };
}
