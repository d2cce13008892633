/**
 * Containments in `task_execution_collection` (docs/containment.md): the `undo` state of succeeded
 * tasks, changed only by conditional single-document updates naming the state they leave (so a
 * rollback, an expiry and a duplicated message start one undo attempt between them), the run's
 * rollback mark on its execution, and GET /containments by the partial `task_containments` index.
 */
import type { Db, Filter } from 'mongodb';
import { taskKey } from '../../engine/model.js';
import type { ContainmentCursor, ContainmentRow, UndoStore, UndoTaskRef } from '../../engine/ports/undo.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';
import type { ExecutionDoc, TaskDoc } from './run-filters.js';

const T = COLLECTIONS.tasks;

export const UNDO_QUERIES = defineQueries('undo', {
  // Every change of an undo state: the task by key, in the state the change leaves.
  undoOfTask: {
    collection: T,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: [
      'tenant_code',
      'undo.state',
      'undo.gen',
      'undo.attempts',
      'undo.claim',
      'undo.claim.until',
      'undo.claim.token',
    ],
  },
  // A rollback is marked once per attempt of the run.
  rollbackOfRun: {
    collection: COLLECTIONS.executions,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'rollback.attempt'],
  },
  // GET /containments: the partial index holds the tasks with an undo state only.
  containmentsOfTenant: {
    collection: T,
    index: 'task_containments',
    prefix: ['tenant_code', 'undo.in_effect', 'undo.applied_at', '_id'],
    sort: { key: { 'undo.applied_at': -1, _id: -1 }, by: 'index' },
  },
});

function byKey(ref: UndoTaskRef) {
  return { _id: taskKey(ref.peid, ref.task_id), tenant_code: ref.tenant_code };
}

/** The filter of a page of GET /containments (exported for the index-coverage test). */
export function containmentsFilter(
  tenant_code: string,
  active: boolean | undefined,
  after?: ContainmentCursor,
): Filter<TaskDoc> {
  // Both values when no filter is asked for: the index's two ranges are merged in applied_at order.
  const base = { tenant_code, 'undo.in_effect': active === undefined ? { $in: [true, false] } : active };
  if (after === undefined) return base as Filter<TaskDoc>;
  return {
    ...base,
    $or: [
      { 'undo.applied_at': { $lt: after.applied_at } },
      { 'undo.applied_at': after.applied_at, _id: { $lt: after.key } },
    ],
  } as Filter<TaskDoc>;
}

/** An UndoStore over the given database. */
export function createUndoStore(db: Db): UndoStore {
  const tasks = db.collection<TaskDoc>(T);
  const execs = db.collection<ExecutionDoc>(COLLECTIONS.executions);
  return {
    async claimUndo(ref, c, now) {
      const takeOver = { 'undo.state': 'undoing', 'undo.attempts': c.attempt, 'undo.claim.until': { $lt: now } };
      const start =
        c.attempt === 1
          ? { 'undo.state': 'active' }
          : { 'undo.state': 'undoing', 'undo.attempts': c.attempt - 1, 'undo.claim': null };
      // index: _id
      const res = await timedDbCall(() =>
        tasks.updateOne(
          indexed(UNDO_QUERIES.undoOfTask, {
            ...byKey(ref),
            'undo.gen': c.gen,
            $or: [start, takeOver],
          } as Filter<TaskDoc>),
          {
            $set: {
              'undo.state': 'undoing',
              'undo.in_effect': true,
              'undo.attempts': c.attempt,
              'undo.claim': { token: c.token, until: c.leaseUntil },
              'undo.started_at': now,
              ...(c.attempt === 1 ? { 'undo.by': c.by } : {}),
              updateddate: now,
            },
          },
        ),
      );
      return res.matchedCount === 1;
    },

    async recordUndo(ref, token, o, now) {
      // index: _id; only the holder of the attempt records how it ended
      const res = await timedDbCall(() =>
        tasks.updateOne(indexed(UNDO_QUERIES.undoOfTask, { ...byKey(ref), 'undo.claim.token': token }), {
          $set: {
            'undo.state': o.state,
            'undo.in_effect': o.state !== 'undone',
            'undo.claim': null,
            'undo.response_status': o.response_status,
            'undo.error': o.error,
            'undo.finished_at': o.finished_at,
            updateddate: now,
          },
        }),
      );
      return res.matchedCount === 1;
    },

    async failUndo(ref, gen, error, now) {
      // index: _id
      const res = await timedDbCall(() =>
        tasks.updateOne(
          indexed(UNDO_QUERIES.undoOfTask, {
            ...byKey(ref),
            'undo.gen': gen,
            'undo.state': { $in: ['active', 'undoing'] },
          }),
          {
            $set: {
              'undo.state': 'undo_failed',
              'undo.in_effect': true,
              'undo.claim': null,
              'undo.error': error,
              'undo.finished_at': now,
              updateddate: now,
            },
          },
        ),
      );
      return res.matchedCount === 1;
    },

    async markRollback(ref, mark, audit) {
      // index: _id; `$ne` also matches a run never rolled back
      const res = await timedDbCall(() =>
        execs.updateOne(
          indexed(UNDO_QUERIES.rollbackOfRun, {
            _id: ref.peid,
            tenant_code: ref.tenant_code,
            'rollback.attempt': { $ne: mark.attempt },
          }),
          { $set: { rollback: mark }, $push: { audit_pending: audit } },
        ),
      );
      return res.matchedCount === 1;
    },

    async listContainments(tenant_code, query) {
      // index: task_containments (filter and order)
      const docs = await timedDbCall(() =>
        tasks
          .find(
            indexed(UNDO_QUERIES.containmentsOfTenant, containmentsFilter(tenant_code, query.active, query.after)),
            {
              projection: { _id: 0, peid: 1, task_id: 1, undo: 1 },
            },
          )
          .sort(sortOf(UNDO_QUERIES.containmentsOfTenant))
          .limit(query.limit)
          .toArray(),
      );
      return docs as unknown as ContainmentRow[];
    },
  };
}
