/**
 * Runs and their tasks in `playbook_execution_collection` and
 * `task_execution_collection`. Every filter carries tenant_code; every state
 * change is a conditional single-document update, so concurrent and repeated
 * deliveries cannot apply a transition twice.
 */
import { type AnyBulkWriteOperation, type Db, type Filter, MongoServerError } from 'mongodb';
import { taskKey } from '../../engine/model.js';
import type { RunRef, RunStore, TaskResultWrite, TaskState } from '../../engine/ports.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { executionSearch } from './execution-search.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';
import { BULK_CHUNK, byTenant, chunks, type ExecutionDoc, graphOnly, type TaskDoc } from './run-filters.js';
import { createRunTreeStore } from './run-tree-store.js';

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
  // The claim conditions: queued at the previous attempt, or running with an expired lease.
  taskClaim: {
    collection: T,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'status', 'attempts', 'claim.until'],
  },
  taskHeldBy: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code', 'claim.token'] },
  taskPending: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code', 'status'] },
  taskTransitionedBy: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['transition_token'] },
  // Graph tasks only (item_of null; for_each items are loaded by _id, never wholesale: per-item work stays constant).
  graphTasksOfRun: { collection: T, index: 'peid_item_seq', prefix: ['peid', 'item_of'], residual: ['tenant_code'] },
  // Open tasks of a run: pending/queued, or loop tasks waiting on items (running without a claim).
  openTasksOfRun: { collection: T, index: 'peid_seq', prefix: ['peid'], residual: ['tenant_code', 'status', 'claim'] },
  tasksById: { collection: T, index: ID_INDEX, prefix: ['_id'] },
  // The fan-in's fresh read: only the tasks it decides on, by key.
  taskStatesById: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code'] },
  taskResettable: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code', 'status'] },
  // A redrive reopens a run only from the outcome it read (optimistic on status and attempt).
  execReopen: {
    collection: X,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'execution_status', 'attempt'],
  },
  loopById: {
    collection: T,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'status', 'claim', 'claim.token', 'open_items'],
  },
  // The items of one loop task: at most 1,000 documents, sorted in memory.
  itemsOfLoop: {
    collection: T,
    index: 'peid_item_seq',
    prefix: ['peid', 'item_of'],
    residual: ['tenant_code'],
    sort: { key: { item_index: 1 }, by: 'memory' },
  },
});

/** `{ tenant_code, peid: { $in } }` per tenant, or-ed when a batch spans tenants. */
function runFilter(refs: RunRef[]): Filter<TaskDoc> {
  const parts = [...byTenant(refs)].map(([tenant_code, peids]) => ({ tenant_code, peid: { $in: peids } }));
  return parts.length === 1 ? (parts[0] as Filter<TaskDoc>) : { $or: parts };
}

/** True for a MongoDB duplicate-key failure (also inside a bulk write error). */
function isDuplicateKey(err: unknown): boolean {
  if (!(err instanceof MongoServerError)) return false;
  if (err.code === 11000) return true;
  const raw = (err as { writeErrors?: unknown }).writeErrors;
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ code?: number }>;
  return list.length > 0 && list.every((w) => w.code === 11000);
}

/** The update that records one task result and releases its claim (also the bench's baseline writes it). */
export function taskResultUpdate(w: TaskResultWrite, now: number) {
  return {
    $set: {
      status: w.status,
      output_json: w.output_json,
      truncated: w.truncated,
      error: w.error,
      finished_at: w.finished_at,
      duration_ms: w.duration_ms,
      claim: null,
      updateddate: now,
      ...(w.mocked ? { mocked: true as const } : {}),
    },
  };
}

/** A RunStore over the given database. */
export function createRunStore(db: Db): RunStore {
  const execs = db.collection<ExecutionDoc>(COLLECTIONS.executions);
  const tasks = db.collection<TaskDoc>(COLLECTIONS.tasks);

  async function bulk(ops: AnyBulkWriteOperation<TaskDoc>[]): Promise<number> {
    let matched = 0;
    for (const part of chunks(ops, BULK_CHUNK)) {
      const res = await timedDbCall(() => tasks.bulkWrite(part, { ordered: false }));
      matched += res.matchedCount;
    }
    return matched;
  }

  return {
    // Whole-run reads without outputs, sub-playbook runs, the work budget.
    ...createRunTreeStore(db),

    async insertRun(exec, taskRecords) {
      // Two collections, two round trips, sent concurrently.
      const [e, t] = await Promise.allSettled([
        timedDbCall(() => execs.insertOne({ _id: exec.peid, ...exec })),
        timedDbCall(() =>
          tasks.insertMany(
            taskRecords.map((t) => ({ _id: taskKey(t.peid, t.task_id), ...t })),
            { ordered: false },
          ),
        ),
      ]);
      // A duplicate peid means this very run was written before (a retried sub-playbook start).
      if (e.status === 'rejected' && !isDuplicateKey(e.reason)) throw e.reason;
      if (t.status === 'rejected' && !isDuplicateKey(t.reason)) throw t.reason;
      return e.status === 'fulfilled';
    },

    async markWaiting(ref, taskId, childPeid, token, now) {
      // index: _id
      const res = await timedDbCall(() =>
        tasks.updateOne(
          indexed(RUN_QUERIES.loopById, {
            _id: taskKey(ref.peid, taskId),
            tenant_code: ref.tenant_code,
            'claim.token': token,
          }),
          { $set: { claim: null, child_peid: childPeid, updateddate: now } },
        ),
      );
      return res.matchedCount === 1;
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

    async claimTasks(claims, token, leaseUntil, now) {
      if (claims.length === 0) return 0;
      // index: _id (one conditional update per message, one round trip per 1000)
      return bulk(
        claims.map((c) => ({
          updateOne: {
            filter: indexed(RUN_QUERIES.taskClaim, {
              _id: taskKey(c.peid, c.task_id),
              tenant_code: c.tenant_code,
              $or: [
                { status: 'queued', attempts: c.attempt - 1 },
                // The worker that held this attempt died: its lease ran out, take it over.
                { status: 'running', attempts: c.attempt, 'claim.until': { $lt: now } },
              ],
            }),
            update: {
              $set: {
                status: 'running',
                attempts: c.attempt,
                claim: { token, until: leaseUntil },
                started_at: now,
                updateddate: now,
              },
            },
          },
        })),
      );
    },

    async loadRuns(refs, itemKeys = []) {
      if (refs.length === 0) return { executions: [], tasks: [] };
      const ids = [...new Set(refs.map((r) => r.peid))];
      const [e, t, items] = await Promise.all([
        // index: _id
        timedDbCall(() =>
          execs
            .find(
              indexed(RUN_QUERIES.execById, { _id: { $in: ids }, tenant_code: { $in: [...byTenant(refs).keys()] } }),
            )
            .toArray(),
        ),
        // index: peid_item_seq (graph tasks only: at most 200)
        timedDbCall(() =>
          tasks
            .find(indexed(RUN_QUERIES.graphTasksOfRun, graphOnly(runFilter(refs))), {
              projection: { transition_token: 0 },
            })
            .toArray(),
        ),
        // index: _id
        itemKeys.length === 0
          ? Promise.resolve([])
          : timedDbCall(() =>
              tasks
                .find(indexed(RUN_QUERIES.tasksById, { _id: { $in: itemKeys } }), {
                  projection: { transition_token: 0 },
                })
                .toArray(),
            ),
      ]);
      // A peid belongs to exactly one tenant: drop any cross-tenant mismatch.
      const wanted = new Set(refs.map((r) => `${r.tenant_code}/${r.peid}`));
      return {
        executions: e.filter((x) => wanted.has(`${x.tenant_code}/${x.peid}`)),
        tasks: [...t, ...items].filter((x) => wanted.has(`${x.tenant_code}/${x.peid}`)),
      };
    },

    async taskStates(keys) {
      if (keys.length === 0) return [];
      const ids = [...new Set(keys.map((k) => taskKey(k.peid, k.task_id)))];
      const tenants = [...new Set(keys.map((k) => k.tenant_code))];
      // index: _id
      const docs = await timedDbCall(() =>
        tasks
          .find(
            indexed(RUN_QUERIES.taskStatesById, {
              _id: { $in: ids },
              tenant_code: tenants.length === 1 ? tenants[0] : { $in: tenants },
            }),
            {
              projection: {
                _id: 0,
                tenant_code: 1,
                peid: 1,
                task_id: 1,
                status: 1,
                attempts: 1,
                def: 1,
                dependents: 1,
                type: 1,
                claim: 1,
              },
            },
          )
          .toArray(),
      );
      // A peid belongs to exactly one tenant: drop any cross-tenant mismatch.
      const wanted = new Set(keys.map((k) => `${k.tenant_code}/${k.peid}`));
      return docs.filter((d) => wanted.has(`${d.tenant_code}/${d.peid}`)) as TaskState[];
    },

    async writeTaskResults(writes, token, now) {
      if (writes.length === 0) return;
      // index: _id; only the holder of the claim may write the result.
      await bulk(
        writes.map((w) => ({
          updateOne: {
            filter: indexed(RUN_QUERIES.taskHeldBy, {
              _id: taskKey(w.peid, w.task_id),
              tenant_code: w.tenant_code,
              'claim.token': token,
            }),
            update: taskResultUpdate(w, now),
          },
        })),
      );
    },

    async transitionPending(transitions, token, now) {
      const won = new Set<string>();
      if (transitions.length === 0) return won;
      const keys = transitions.map((t) => taskKey(t.peid, t.task_id));
      // index: _id; `status: pending` makes the claim atomic: one caller wins each task.
      const matched = await bulk(
        transitions.map((t) => ({
          updateOne: {
            filter: indexed(RUN_QUERIES.taskPending, {
              _id: taskKey(t.peid, t.task_id),
              tenant_code: t.tenant_code,
              status: 'pending',
            }),
            update: {
              $set: {
                status: t.to,
                transition_token: token,
                updateddate: now,
                ...(t.to === 'skipped' ? { finished_at: now } : {}),
              },
            },
          },
        })),
      );
      if (matched === transitions.length) {
        for (const k of keys) won.add(k);
        return won;
      }
      // Someone else won all of them (e.g. the one join two parents' batches both found ready).
      if (matched === 0) return won;
      // Someone else won some of them: read back which ones carry our token.
      // index: _id (the token is this call's own random value)
      const mine = await timedDbCall(() =>
        tasks
          .find(indexed(RUN_QUERIES.taskTransitionedBy, { _id: { $in: keys }, transition_token: token }), {
            projection: { _id: 1 },
          })
          .toArray(),
      );
      for (const d of mine) won.add(d._id);
      return won;
    },

    async closeTasks(ref, taskIds, now) {
      // index: _id
      return timedDbCall(() =>
        execs.findOneAndUpdate(
          indexed(RUN_QUERIES.execById, { _id: ref.peid, tenant_code: ref.tenant_code }),
          { $pullAll: { open_tasks: taskIds }, $set: { updateddate: now } },
          { returnDocument: 'after', projection: { _id: 0, alert_json: 0 } },
        ),
      );
    },

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
        // index: peid_seq
        await timedDbCall(() =>
          tasks.updateMany(
            indexed(RUN_QUERIES.openTasksOfRun, {
              peid: peids.length === 1 ? peids[0] : { $in: peids },
              tenant_code,
              // Tasks waiting for their items or child run hold no claim: they will not finish on their own now;
              // nor will a task `waiting` for an answer or its time (its answer's transition needs `waiting`).
              $or: [{ status: { $in: ['pending', 'queued', 'waiting'] } }, { status: 'running', claim: null }],
            }),
            { $set: { status: 'cancelled', finished_at: now, updateddate: now } },
          ),
        );
      }
    },

    async resetTasks(ref, resets, now) {
      if (resets.length === 0) return;
      // index: _id; only what did not succeed is reset (a succeeded task keeps its output).
      await bulk(
        resets.map((r) => ({
          updateOne: {
            filter: indexed(RUN_QUERIES.taskResettable, {
              _id: taskKey(ref.peid, r.task_id),
              tenant_code: ref.tenant_code,
              status: { $in: ['failed', 'cancelled', 'skipped', 'pending'] },
            }),
            update: {
              $set: {
                status: r.status,
                attempts: 0,
                claim: null,
                output_json: null,
                truncated: false,
                error: null,
                started_at: null,
                finished_at: null,
                duration_ms: null,
                updateddate: now,
                ...(r.open_items !== undefined ? { open_items: r.open_items } : {}),
                ...(r.item_successor !== undefined && r.item_successor !== null
                  ? { item_successor: r.item_successor }
                  : {}),
              },
              // An approval asks again (new question, token and deadline), a delay waits again.
              $unset: { wait: '', approval: '', ...(r.item_successor === null ? { item_successor: '' } : {}) },
            },
          },
        })),
      );
    },

    async reopenRun(ref, previous, openTasks, attempt, now, audit) {
      // index: _id
      const res = await timedDbCall(() =>
        execs.updateOne(
          indexed(RUN_QUERIES.execReopen, {
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

    async insertItems(items) {
      if (items.length === 0) return;
      try {
        // A redelivered expansion finds its items already there (duplicate _id): keep them.
        await timedDbCall(() =>
          tasks.insertMany(
            items.map((t) => ({ _id: taskKey(t.peid, t.task_id), ...t })),
            { ordered: false },
          ),
        );
      } catch (err) {
        const raw = (err as { writeErrors?: unknown }).writeErrors;
        const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ code?: number }>;
        if (list.length === 0 || list.some((w) => w.code !== 11000)) throw err;
      }
    },

    async markExpanded(ref, taskId, total, token, now) {
      // index: _id
      const res = await timedDbCall(() =>
        tasks.updateOne(
          indexed(RUN_QUERIES.loopById, {
            _id: taskKey(ref.peid, taskId),
            tenant_code: ref.tenant_code,
            'claim.token': token,
          }),
          {
            $set: {
              claim: null,
              items_total: total,
              open_items: Array.from({ length: total }, (_, i) => i),
              updateddate: now,
            },
          },
        ),
      );
      return res.matchedCount === 1;
    },

    async closeItems(ref, taskId, indices, now) {
      // index: _id
      return timedDbCall(() =>
        tasks.findOneAndUpdate(
          indexed(RUN_QUERIES.loopById, { _id: taskKey(ref.peid, taskId), tenant_code: ref.tenant_code }),
          { $pullAll: { open_items: indices }, $set: { updateddate: now } },
          { returnDocument: 'after', projection: { _id: 0, transition_token: 0 } },
        ),
      );
    },

    async loadItems(ref, taskId) {
      // index: peid_item_seq (at most 1,000 items, sorted in memory)
      const docs = await timedDbCall(() =>
        tasks
          .find(indexed(RUN_QUERIES.itemsOfLoop, { peid: ref.peid, tenant_code: ref.tenant_code, item_of: taskId }), {
            projection: { _id: 0, item_index: 1, status: 1, output_json: 1, error: 1 },
          })
          .toArray(),
      );
      return docs.sort((a, b) => (a.item_index ?? 0) - (b.item_index ?? 0));
    },

    async finishLoop(ref, taskId, result, now, evenIfOpen = false) {
      // index: _id; only a loop still waiting (with no open item) finishes, once.
      const res = await timedDbCall(() =>
        tasks.updateOne(
          indexed(RUN_QUERIES.loopById, {
            _id: taskKey(ref.peid, taskId),
            tenant_code: ref.tenant_code,
            status: 'running',
            claim: null,
            ...(evenIfOpen ? {} : { open_items: { $size: 0 } }),
          }),
          { $set: { ...result, updateddate: now } },
        ),
      );
      return res.matchedCount === 1;
    },
  };
}
