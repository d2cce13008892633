/**
 * The task side of a batch of messages (the TaskClaims port): the bulk claim, the read of the
 * runs involved, the fan-in's fresh read, the bulk write of results and the pending -> queued |
 * skipped decisions. Every write is conditional on the transition's starting phases
 * (task-filters.ts), so concurrent and repeated deliveries cannot apply one twice.
 */
import type { Db } from 'mongodb';
import { taskKey } from '../../engine/model.js';
import type { TaskClaims, TaskResultWrite, TaskState, TaskStateRecord } from '../../engine/ports/task-claims.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed } from './indexed.js';
import { bulkTasks, byTenant, type ExecutionDoc, graphOnly, runFilter, type TaskDoc } from './run-filters.js';
import { TASK_FILTERS } from './task-filters.js';

const X = COLLECTIONS.executions;
const T = COLLECTIONS.tasks;

/** Every filter this store sends (see indexed.ts); `_id` = peid for executions, `peid:task_id` for tasks. */
export const TASK_CLAIM_QUERIES = defineQueries('taskClaims', {
  execsById: { collection: X, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code'] },
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
  tasksById: { collection: T, index: ID_INDEX, prefix: ['_id'] },
  // The fan-in's fresh read: only the tasks it decides on, by key.
  taskStatesById: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code'] },
});

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
      ...(w.undo ? { undo: w.undo } : {}),
    },
  };
}

/** A write that decides a pending task (TaskResultWrite.decided): its state, marked with the deciding call's token. */
export function decidedUpdate(w: TaskResultWrite, token: string, now: number) {
  const update = taskResultUpdate(w, now);
  return {
    $set: {
      ...update.$set,
      attempts: w.decided?.attempts ?? 0,
      started_at: w.decided?.started_at ?? null,
      transition_token: token,
    },
  };
}

/** The fields of a task the fan-in reads. */
const TASK_STATE_PROJECTION = {
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
} as const;

export function createTaskClaimsStore(db: Db): TaskClaims {
  const execs = db.collection<ExecutionDoc>(X);
  const tasks = db.collection<TaskDoc>(T);
  return {
    async claimTasks(claims, token, leaseUntil, now) {
      if (claims.length === 0) return 0;
      // index: _id (one conditional update per message, one round trip per 1000)
      return bulkTasks(
        tasks,
        claims.map((c) => ({
          updateOne: {
            filter: indexed(TASK_CLAIM_QUERIES.taskClaim, TASK_FILTERS.claim(c, now)),
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

    async loadExecutions(refs) {
      if (refs.length === 0) return [];
      const wanted = new Set(refs.map((r) => `${r.tenant_code}/${r.peid}`));
      // index: _id
      const docs = await timedDbCall(() =>
        execs
          .find(
            indexed(TASK_CLAIM_QUERIES.execsById, {
              _id: { $in: [...new Set(refs.map((r) => r.peid))] },
              tenant_code: { $in: [...byTenant(refs).keys()] },
            }),
            { projection: { _id: 0 } },
          )
          .toArray(),
      );
      return docs.filter((x) => wanted.has(`${x.tenant_code}/${x.peid}`));
    },

    async loadGraphStates(refs) {
      if (refs.length === 0) return [];
      const wanted = new Set(refs.map((r) => `${r.tenant_code}/${r.peid}`));
      // index: peid_item_seq (graph tasks only: at most 200 a run); definitions come from the pinned version.
      const docs = await timedDbCall(() =>
        tasks
          .find(indexed(TASK_CLAIM_QUERIES.graphTasksOfRun, graphOnly(runFilter(refs))), {
            projection: { _id: 0, transition_token: 0, def: 0, dependents: 0 },
          })
          .toArray(),
      );
      return (docs as unknown as TaskStateRecord[]).filter((x) => wanted.has(`${x.tenant_code}/${x.peid}`));
    },

    async loadTasks(keys) {
      if (keys.length === 0) return [];
      const wanted = new Set(keys.map((k) => `${k.tenant_code}/${taskKey(k.peid, k.task_id)}`));
      // index: _id
      const docs = await timedDbCall(() =>
        tasks
          .find(
            indexed(TASK_CLAIM_QUERIES.tasksById, {
              _id: { $in: [...new Set(keys.map((k) => taskKey(k.peid, k.task_id)))] },
            }),
            { projection: { _id: 0, transition_token: 0 } },
          )
          .toArray(),
      );
      // A task is another tenant's unless its key was asked for with its own tenant.
      return docs.filter((x) => wanted.has(`${x.tenant_code}/${taskKey(x.peid, x.task_id)}`));
    },

    async loadRuns(refs, itemKeys = []) {
      if (refs.length === 0) return { executions: [], tasks: [] };
      const ids = [...new Set(refs.map((r) => r.peid))];
      const [e, t, items] = await Promise.all([
        // index: _id
        timedDbCall(() =>
          execs
            .find(
              indexed(TASK_CLAIM_QUERIES.execsById, {
                _id: { $in: ids },
                tenant_code: { $in: [...byTenant(refs).keys()] },
              }),
            )
            .toArray(),
        ),
        // index: peid_item_seq (graph tasks only: at most 200)
        timedDbCall(() =>
          tasks
            .find(indexed(TASK_CLAIM_QUERIES.graphTasksOfRun, graphOnly(runFilter(refs))), {
              projection: { transition_token: 0 },
            })
            .toArray(),
        ),
        // index: _id
        itemKeys.length === 0
          ? Promise.resolve([])
          : timedDbCall(() =>
              tasks
                .find(indexed(TASK_CLAIM_QUERIES.tasksById, { _id: { $in: itemKeys } }), {
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
            indexed(TASK_CLAIM_QUERIES.taskStatesById, {
              _id: { $in: ids },
              tenant_code: tenants.length === 1 ? tenants[0] : { $in: tenants },
            }),
            { projection: TASK_STATE_PROJECTION },
          )
          .toArray(),
      );
      // A peid belongs to exactly one tenant: drop any cross-tenant mismatch.
      const wanted = new Set(keys.map((k) => `${k.tenant_code}/${k.peid}`));
      return docs.filter((d) => wanted.has(`${d.tenant_code}/${d.peid}`)) as TaskState[];
    },

    async writeTaskResults(writes, token, now) {
      const decided = writes.filter((w) => w.decided).map((w) => taskKey(w.peid, w.task_id));
      if (writes.length === 0) return new Set<string>();
      // index: _id; only the holder of the claim may write a result, and only a pending task is decided.
      const matched = await bulkTasks(
        tasks,
        writes.map((w) => ({
          updateOne: w.decided
            ? {
                filter: indexed(TASK_CLAIM_QUERIES.taskPending, TASK_FILTERS.decide(w, w.task_id)),
                update: decidedUpdate(w, token, now),
              }
            : {
                filter: indexed(TASK_CLAIM_QUERIES.taskHeldBy, TASK_FILTERS.heldBy(w, w.task_id, token)),
                update: taskResultUpdate(w, now),
              },
        })),
      );
      if (decided.length === 0 || matched === writes.length) return new Set(decided);
      // Some write did not apply: read back which decisions carry this call's token.
      // index: _id (the token is this call's own random value)
      const mine = await timedDbCall(() =>
        tasks
          .find(indexed(TASK_CLAIM_QUERIES.taskTransitionedBy, { _id: { $in: decided }, transition_token: token }), {
            projection: { _id: 1 },
          })
          .toArray(),
      );
      return new Set(mine.map((d) => d._id));
    },

    async transitionPending(transitions, token, now) {
      const won = new Set<string>();
      if (transitions.length === 0) return won;
      const keys = transitions.map((t) => taskKey(t.peid, t.task_id));
      // index: _id; starting from `pending` makes the decision atomic: one caller wins each task.
      const matched = await bulkTasks(
        tasks,
        transitions.map((t) => ({
          updateOne: {
            filter: indexed(TASK_CLAIM_QUERIES.taskPending, TASK_FILTERS.decide(t, t.task_id)),
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
          .find(indexed(TASK_CLAIM_QUERIES.taskTransitionedBy, { _id: { $in: keys }, transition_token: token }), {
            projection: { _id: 1 },
          })
          .toArray(),
      );
      for (const d of mine) won.add(d._id);
      return won;
    },
  };
}
