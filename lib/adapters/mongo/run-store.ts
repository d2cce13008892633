/**
 * Runs and their tasks in `playbook_execution_collection` and
 * `task_execution_collection`. Every filter carries tenant_code; every state
 * change is a conditional single-document update, so concurrent and repeated
 * deliveries cannot apply a transition twice.
 */
import type { AnyBulkWriteOperation, Db, Filter } from 'mongodb';
import type { ExecutionRecord, TaskRecord } from '../../engine/model.js';
import { taskKey } from '../../engine/model.js';
import type { RunRef, RunStore, TaskState } from '../../engine/ports.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';

type ExecutionDoc = ExecutionRecord & { _id: string };
type TaskDoc = TaskRecord & { _id: string; transition_token?: string };

/** The seed's batch size for bulk writes. */
const BULK_CHUNK = 1000;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function byTenant(refs: RunRef[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of refs) {
    const list = m.get(r.tenant_code) ?? [];
    if (!list.includes(r.peid)) list.push(r.peid);
    m.set(r.tenant_code, list);
  }
  return m;
}

/** `{ tenant_code, peid: { $in } }` per tenant, or-ed when a batch spans tenants. */
function runFilter(refs: RunRef[]): Filter<TaskDoc> {
  const parts = [...byTenant(refs)].map(([tenant_code, peids]) => ({ tenant_code, peid: { $in: peids } }));
  return parts.length === 1 ? (parts[0] as Filter<TaskDoc>) : { $or: parts };
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
    async insertRun(exec, taskRecords) {
      // Two collections, two round trips, sent concurrently.
      await Promise.all([
        timedDbCall(() => execs.insertOne({ _id: exec.peid, ...exec })),
        timedDbCall(() =>
          tasks.insertMany(
            taskRecords.map((t) => ({ _id: taskKey(t.peid, t.task_id), ...t })),
            { ordered: false },
          ),
        ),
      ]);
    },

    async deleteRun(ref) {
      await Promise.allSettled([
        execs.deleteOne({ _id: ref.peid, tenant_code: ref.tenant_code }),
        // index: peid_seq
        tasks.deleteMany({ peid: ref.peid, tenant_code: ref.tenant_code }),
      ]);
    },

    async getExecution(ref) {
      // index: _id
      return timedDbCall(() =>
        execs.findOne({ _id: ref.peid, tenant_code: ref.tenant_code }, { projection: { _id: 0 } }),
      );
    },

    async listTasks(ref) {
      // index: peid_seq (filter and sort)
      return timedDbCall(() =>
        tasks
          .find({ peid: ref.peid, tenant_code: ref.tenant_code }, { projection: { _id: 0, transition_token: 0 } })
          .sort({ task_seq: 1 })
          .toArray(),
      );
    },

    async listExecutions(tenant_code, query) {
      // index: tenant_status_created (with status) or tenant_created (without)
      const filter: Filter<ExecutionDoc> = { tenant_code };
      if (query.status) filter.execution_status = query.status;
      if (query.before) {
        const { createddate, peid } = query.before;
        filter.$or = [{ createddate: { $lt: createddate } }, { createddate, peid: { $lt: peid } }];
      }
      return timedDbCall(() =>
        execs
          .find(filter, { projection: { _id: 0, alert_json: 0, open_tasks: 0 } })
          .sort({ createddate: -1, peid: -1 })
          .limit(query.limit)
          .toArray(),
      );
    },

    async claimTasks(claims, token, leaseUntil, now) {
      if (claims.length === 0) return;
      // index: _id (one conditional update per message, one round trip per 1000)
      await bulk(
        claims.map((c) => ({
          updateOne: {
            filter: {
              _id: taskKey(c.peid, c.task_id),
              tenant_code: c.tenant_code,
              $or: [
                { status: 'queued', attempts: c.attempt - 1 },
                // The worker that held this attempt died: its lease ran out, take it over.
                { status: 'running', attempts: c.attempt, 'claim.until': { $lt: now } },
              ],
            },
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

    async loadRuns(refs) {
      if (refs.length === 0) return { executions: [], tasks: [] };
      const ids = [...new Set(refs.map((r) => r.peid))];
      const [e, t] = await Promise.all([
        // index: _id
        timedDbCall(() =>
          execs.find({ _id: { $in: ids }, tenant_code: { $in: [...byTenant(refs).keys()] } }).toArray(),
        ),
        // index: peid_seq
        timedDbCall(() => tasks.find(runFilter(refs), { projection: { transition_token: 0 } }).toArray()),
      ]);
      // A peid belongs to exactly one tenant: drop any cross-tenant mismatch.
      const wanted = new Set(refs.map((r) => `${r.tenant_code}/${r.peid}`));
      return {
        executions: e.filter((x) => wanted.has(`${x.tenant_code}/${x.peid}`)),
        tasks: t.filter((x) => wanted.has(`${x.tenant_code}/${x.peid}`)),
      };
    },

    async taskStates(refs) {
      if (refs.length === 0) return [];
      // index: peid_seq
      const docs = await timedDbCall(() =>
        tasks
          .find(runFilter(refs), {
            projection: { _id: 0, peid: 1, task_id: 1, status: 1, attempts: 1, def: 1, dependents: 1, type: 1 },
          })
          .toArray(),
      );
      return docs as TaskState[];
    },

    async writeTaskResults(writes, token, now) {
      if (writes.length === 0) return;
      // index: _id; only the holder of the claim may write the result.
      await bulk(
        writes.map((w) => ({
          updateOne: {
            filter: { _id: taskKey(w.peid, w.task_id), tenant_code: w.tenant_code, 'claim.token': token },
            update: {
              $set: {
                status: w.status,
                output_json: w.output_json,
                truncated: w.truncated,
                error: w.error,
                finished_at: w.finished_at,
                duration_ms: w.duration_ms,
                claim: null,
                updateddate: now,
              },
            },
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
            filter: { _id: taskKey(t.peid, t.task_id), tenant_code: t.tenant_code, status: 'pending' },
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
      // Someone else won some of them: read back which ones carry our token.
      const mine = await timedDbCall(() =>
        tasks.find({ _id: { $in: keys }, transition_token: token }, { projection: { _id: 1 } }).toArray(),
      );
      for (const d of mine) won.add(d._id);
      return won;
    },

    async closeTasks(ref, taskIds, now) {
      // index: _id
      return timedDbCall(() =>
        execs.findOneAndUpdate(
          { _id: ref.peid, tenant_code: ref.tenant_code },
          { $pullAll: { open_tasks: taskIds }, $set: { updateddate: now } },
          { returnDocument: 'after', projection: { _id: 0, alert_json: 0 } },
        ),
      );
    },

    async finishRun(ref, status, now, createddate, error) {
      // index: _id; `execution_status: running` makes the transition happen once.
      const res = await timedDbCall(() =>
        execs.updateOne(
          { _id: ref.peid, tenant_code: ref.tenant_code, execution_status: 'running' },
          {
            $set: {
              execution_status: status,
              completeddate: now,
              playbook_runtime: now - createddate,
              updateddate: now,
              ...(error ? { error } : {}),
            },
          },
        ),
      );
      return res.matchedCount === 1;
    },

    async cancelOpenTasks(ref, now) {
      // index: peid_seq
      await timedDbCall(() =>
        tasks.updateMany(
          { peid: ref.peid, tenant_code: ref.tenant_code, status: { $in: ['pending', 'queued'] } },
          { $set: { status: 'cancelled', finished_at: now, updateddate: now } },
        ),
      );
    },
  };
}
