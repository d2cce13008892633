/**
 * Closing ended tasks on their run (RunEnds.closeTasks): one findOneAndUpdate that pulls them from
 * the open set and records their statuses in `task_ends`, returning the run as it was before, so
 * the caller knows exactly what this update changed (the fan-in decides from it).
 *
 * Completing the run in the same update, three ways, best first:
 *   1. an update pipeline (MongoDB 4.2+): the status moves to completed when the open set the
 *      update leaves is empty, whatever the caller knew. Whether the server takes pipelines is
 *      found out once per store, on the first completing close (mongo-java-server, the local
 *      emulator, answers with an error; nothing is applied then);
 *   2. without pipelines, when the caller's last view of the open set is covered by what it
 *      closes: one classic update conditional on the open set being exactly that view;
 *   3. otherwise the plain close; the caller sees the empty set and finishes the run (finishRun).
 */
import { type Collection, MongoServerError } from 'mongodb';
import type { ExecutionRecord, RunRef } from '../../engine/model.js';
import type { CloseCompletion, ClosedRun, RunEnds, TaskEnd } from '../../engine/ports/run-ends.js';
import { logger, timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed } from './indexed.js';
import type { ExecutionDoc } from './run-filters.js';

export const RUN_CLOSE_QUERIES = defineQueries('runClose', {
  execById: { collection: COLLECTIONS.executions, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code'] },
  // The classic closing-and-completing update: only while running with exactly the open set the caller saw.
  execLastOpen: {
    collection: COLLECTIONS.executions,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: ['tenant_code', 'execution_status', 'open_tasks'],
  },
});

/** `auto`: pipelines when the server takes them (found out once); `off`: never (the classic paths). */
export type UpdatePipelines = 'auto' | 'off';

/** The run as `before` was, after closing `ends` (and completing it when `completed`). */
function applied(before: ExecutionRecord, ends: TaskEnd[], now: number, completed: boolean): ExecutionRecord {
  const ids = new Set(ends.map((e) => e.task_id));
  const after: ExecutionRecord = {
    ...before,
    open_tasks: before.open_tasks.filter((id) => !ids.has(id)),
    task_ends: { ...(before.task_ends ?? {}), ...Object.fromEntries(ends.map((e) => [e.task_id, e.status])) },
    updateddate: now,
  };
  if (!completed) return after;
  return { ...after, execution_status: 'completed', completeddate: now, playbook_runtime: now - before.createddate };
}

/** True when closing `ends` leaves a running run nothing open (judged on the run as it was). */
function empties(before: ExecutionRecord, ends: TaskEnd[]): boolean {
  const ids = new Set(ends.map((e) => e.task_id));
  return before.execution_status === 'running' && before.open_tasks.every((id) => ids.has(id));
}

/** A server error that says the update form is not understood (not a transient failure). */
function unsupported(err: unknown): boolean {
  if (!(err instanceof MongoServerError)) return false;
  if (err.hasErrorLabel('RetryableWriteError') || err.hasErrorLabel('TransientTransactionError')) return false;
  return true;
}

export function createRunCloser(
  execs: Collection<ExecutionDoc>,
  opts: { updatePipelines: UpdatePipelines },
): RunEnds['closeTasks'] {
  let pipelines: boolean | undefined = opts.updatePipelines === 'off' ? false : undefined;
  const projection = { _id: 0, alert_json: 0 } as const;
  const endFields = (ends: TaskEnd[]) => Object.fromEntries(ends.map((e) => [`task_ends.${e.task_id}`, e.status]));

  async function withPipeline(ref: RunRef, ends: TaskEnd[], now: number, c: CloseCompletion) {
    const ids = ends.map((e) => e.task_id);
    const done = { $and: [{ $eq: ['$execution_status', 'running'] }, { $eq: [{ $size: '$open_tasks' }, 0] }] };
    // index: _id
    return timedDbCall(() =>
      execs.findOneAndUpdate(
        indexed(RUN_CLOSE_QUERIES.execById, { _id: ref.peid, tenant_code: ref.tenant_code }),
        [
          {
            $set: {
              open_tasks: { $setDifference: ['$open_tasks', ids] },
              task_ends: {
                $mergeObjects: [
                  { $ifNull: ['$task_ends', {}] },
                  Object.fromEntries(ends.map((e) => [e.task_id, e.status])),
                ],
              },
              updateddate: now,
            },
          },
          {
            $set: {
              completeddate: { $cond: [done, now, '$completeddate'] },
              playbook_runtime: { $cond: [done, now - c.createddate, '$playbook_runtime'] },
              execution_status: { $cond: [done, 'completed', '$execution_status'] },
            },
          },
        ],
        { returnDocument: 'before', projection },
      ),
    );
  }

  return async function closeTasks(ref, ends, now, complete): Promise<ClosedRun | null> {
    const ids = ends.map((e) => e.task_id);
    if (complete && pipelines !== false) {
      try {
        const before = await withPipeline(ref, ends, now, complete);
        pipelines = true;
        if (!before) return null;
        const completed = empties(before, ends);
        return { before, after: applied(before, ends, now, completed), completed };
      } catch (err) {
        // Once a pipeline has gone through, a failure is a failure; before, it says the server takes none.
        if (pipelines === true || !unsupported(err)) throw err;
        if (pipelines === undefined)
          logger.info('the MongoDB server takes no update pipelines: runs complete in a second update', {
            error: (err as Error).message,
          });
        pipelines = false;
      }
    }
    const view = complete?.believedOpen;
    if (complete && view && view.length > 0 && view.every((id) => ids.includes(id))) {
      // index: _id; matches only while the open set is exactly the caller's view (all of it closed here).
      const before = await timedDbCall(() =>
        execs.findOneAndUpdate(
          indexed(RUN_CLOSE_QUERIES.execLastOpen, {
            _id: ref.peid,
            tenant_code: ref.tenant_code,
            execution_status: 'running',
            open_tasks: { $size: view.length, $all: [...view] },
          }),
          {
            $set: {
              open_tasks: [],
              ...endFields(ends),
              execution_status: 'completed',
              completeddate: now,
              playbook_runtime: now - complete.createddate,
              updateddate: now,
            },
          },
          { returnDocument: 'before', projection },
        ),
      );
      if (before) return { before, after: applied(before, ends, now, true), completed: true };
    }
    // index: _id
    const before = await timedDbCall(() =>
      execs.findOneAndUpdate(
        indexed(RUN_CLOSE_QUERIES.execById, { _id: ref.peid, tenant_code: ref.tenant_code }),
        { $pullAll: { open_tasks: ids }, $set: { ...endFields(ends), updateddate: now } },
        { returnDocument: 'before', projection },
      ),
    );
    return before ? { before, after: applied(before, ends, now, false), completed: false } : null;
  };
}
