/**
 * Tasks in status `waiting`, in `task_execution_collection` (docs/approvals.md). Every way out of
 * `waiting` is one conditional update naming the state it leaves (status, wait kind, deadline,
 * attempt, token), so of two analysts, a callback, the timeout and a cancellation arriving at
 * once exactly one changes the task. Reads never return a token's hash, an output or an item's value.
 */
import type { Db, Filter } from 'mongodb';
import type { ApprovalAnswer } from '../../domain/approval.js';
import type { AuditEntry } from '../../domain/audit.js';
import { taskKey } from '../../engine/model.js';
import type { TaskRef, WaitingCursor, WaitingTask, WaitStore } from '../../engine/ports/waits.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed, sortOf } from './indexed.js';
import type { TaskDoc } from './run-filters.js';
import { TASK_FILTERS } from './task-filters.js';

const T = COLLECTIONS.tasks;

export const WAIT_QUERIES = defineQueries('waits', {
  taskById: { collection: T, index: ID_INDEX, prefix: ['_id'], residual: ['tenant_code'] },
  // The ways out of `waiting`, and into it (from the claim of the worker that started the wait).
  waitingById: {
    collection: T,
    index: ID_INDEX,
    prefix: ['_id'],
    residual: [
      'tenant_code',
      'status',
      'attempts',
      'wait.kind',
      'wait.until',
      'approval.token_hash',
      'claim',
      'claim.token',
    ],
  },
  // The token is the credential: its task is found whatever the tenant (the hash is unique).
  byTokenHash: { collection: T, index: 'task_token_hash', prefix: ['approval.token_hash'] },
  // GET /approvals: the partial index holds waiting tasks only (status names its filter).
  waitingOfTenant: {
    collection: T,
    index: 'task_waiting_since',
    prefix: ['tenant_code', 'wait.kind', 'wait.since', '_id'],
    residual: ['status'],
    sort: { key: { 'wait.since': 1, _id: 1 }, by: 'index' },
  },
});

/** What a read returns: no output, item value or token hash. */
const PROJECTION = {
  _id: 0,
  output_json: 0,
  item_json: 0,
  transition_token: 0,
  audit_pending: 0,
  claim: 0,
  'approval.token_hash': 0,
} as const;

function byKey(ref: TaskRef) {
  return { _id: taskKey(ref.peid, ref.task_id), tenant_code: ref.tenant_code };
}

/** The filter of a page of GET /approvals (exported for the index-coverage test). */
export function waitingFilter(tenant_code: string, after?: WaitingCursor): Filter<TaskDoc> {
  const base = { tenant_code, status: 'waiting', 'wait.kind': 'approval' } as const;
  if (after === undefined) return base;
  return {
    ...base,
    $or: [{ 'wait.since': { $gt: after.since } }, { 'wait.since': after.since, _id: { $gt: after.key } }],
  };
}

/** A WaitStore over the given database. */
export function createWaitStore(db: Db): WaitStore {
  const tasks = db.collection<TaskDoc>(T);

  /** One conditional move out of `waiting` to `queued`; the task after, or null. */
  async function leaveWaiting(
    filter: Filter<TaskDoc>,
    set: Record<string, unknown>,
    now: number,
    audit?: AuditEntry,
  ): Promise<WaitingTask | null> {
    // index: _id
    const doc = await timedDbCall(() =>
      tasks.findOneAndUpdate(
        indexed(WAIT_QUERIES.waitingById, filter),
        {
          $set: { ...set, status: 'queued', 'wait.ended_at': now, updateddate: now },
          ...(audit ? { $push: { audit_pending: audit } } : {}),
        },
        { returnDocument: 'after', projection: PROJECTION },
      ),
    );
    return doc as WaitingTask | null;
  }

  return {
    async getTask(ref) {
      // index: _id
      const doc = await timedDbCall(() =>
        tasks.findOne(indexed(WAIT_QUERIES.taskById, byKey(ref)), { projection: PROJECTION }),
      );
      return doc as WaitingTask | null;
    },

    async findByTokenHash(tokenHash) {
      // index: task_token_hash
      const doc = await timedDbCall(() =>
        tasks.findOne(indexed(WAIT_QUERIES.byTokenHash, { 'approval.token_hash': tokenHash }), {
          projection: PROJECTION,
        }),
      );
      return doc as WaitingTask | null;
    },

    recordAnswer(ref, guard, answer, audit) {
      return leaveWaiting(
        TASK_FILTERS.answer(ref, ref.task_id, guard.now, guard.tokenHash),
        { 'approval.answer': answer },
        guard.now,
        audit,
      );
    },

    recordTimeout(ref, attempt, now, answer: ApprovalAnswer) {
      return leaveWaiting(TASK_FILTERS.timeout(ref, ref.task_id, attempt, now), { 'approval.answer': answer }, now);
    },

    endDelay(ref, attempt, now) {
      return leaveWaiting(TASK_FILTERS.endDelay(ref, ref.task_id, attempt, now), {}, now);
    },

    async startWaiting(ref, claimToken, wait, approval, now) {
      // index: _id; only the worker holding the claim records the wait
      const res = await timedDbCall(() =>
        tasks.updateOne(indexed(WAIT_QUERIES.waitingById, TASK_FILTERS.startWait(ref, ref.task_id, claimToken)), {
          $set: { status: 'waiting', claim: null, wait, updateddate: now, ...(approval ? { approval } : {}) },
        }),
      );
      return res.matchedCount === 1;
    },

    async recordNotify(ref, result) {
      // index: _id
      await timedDbCall(() =>
        tasks.updateOne(indexed(WAIT_QUERIES.taskById, byKey(ref)), { $set: { 'approval.notify': result } }),
      );
    },

    async listWaiting(tenant_code, query) {
      // index: task_waiting_since (filter and order)
      const docs = await timedDbCall(() =>
        tasks
          .find(indexed(WAIT_QUERIES.waitingOfTenant, waitingFilter(tenant_code, query.after)), {
            projection: { ...PROJECTION, def: 0 },
          })
          .sort(sortOf(WAIT_QUERIES.waitingOfTenant))
          .limit(query.limit)
          .toArray(),
      );
      return docs as unknown as WaitingTask[];
    },
  };
}
