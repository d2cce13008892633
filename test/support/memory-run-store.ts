/**
 * An in-memory RunStore with the MongoDB adapter's semantics, for fast engine tests: every
 * transition is conditional on the phases lib/engine/model.ts allows it to start from (and on
 * the same tokens, attempts and leases as the adapter's filters), writes to a task a batch does
 * not hold change nothing, open sets shrink as tasks close, and reads return copies. The same
 * contract tests (test/contract/run-store.contract.ts) run on it and on the Mongo adapter.
 */
import {
  canTransition,
  type ExecutionRecord,
  isGraphTask,
  isLoopItem,
  NOT_STARTED,
  type RunRef,
  type TaskRecord,
  taskKey,
} from '../../lib/engine/model.js';
import type { ItemState } from '../../lib/engine/ports/run-records.js';
import type { RunStore } from '../../lib/engine/ports/run-store.js';
import type { TaskResult, TaskState, TaskStateRecord } from '../../lib/engine/ports/task-claims.js';

type StoredTask = TaskRecord & { transition_token?: string };

const copy = <T>(v: T): T => structuredClone(v);

/** A task as readers get it: an approval without its callback token's hash. */
function withoutTokenHash(t: TaskRecord): TaskRecord {
  if (!t.approval) return t;
  const { token_hash: _hash, ...approval } = t.approval;
  return { ...t, approval: approval as NonNullable<TaskRecord['approval']> };
}

/** `obj` without the named keys. */
function omit<T extends object>(obj: T, keys: string[]): T {
  const out = { ...obj } as Record<string, unknown>;
  for (const k of keys) delete out[k];
  return out as T;
}

function pick<T extends object>(obj: T, keys: readonly string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in obj) out[k] = (obj as Record<string, unknown>)[k];
  return out as Partial<T>;
}

const ITEM_STATE_FIELDS = [
  'peid',
  'tenant_code',
  'task_seq',
  'task_id',
  'type',
  'status',
  'attempts',
  'claim',
  'error',
  'started_at',
  'finished_at',
  'duration_ms',
  'updateddate',
  'child_peid',
  'wait',
  'item_of',
  'item_index',
] as const;

const TASK_STATE_FIELDS = [
  'tenant_code',
  'peid',
  'task_id',
  'status',
  'attempts',
  'def',
  'dependents',
  'type',
  'claim',
];

/** Legacy runs (no mode, no trigger) were live runs of the API: a search for those finds them too. */
function searchValue(e: ExecutionRecord, field: 'playbook_name' | 'alert_id' | 'trigger' | 'mode'): string | undefined {
  if (field === 'trigger') return e.trigger?.type ?? 'api';
  if (field === 'mode') return e.mode ?? 'live';
  return e[field];
}

/** A memory store, with its contents reachable for tests that arrange states directly. */
export interface MemoryRunStore extends RunStore {
  readonly executions: Map<string, ExecutionRecord>;
  readonly tasks: Map<string, StoredTask>;
}

export function createMemoryRunStore(): MemoryRunStore {
  const executions = new Map<string, ExecutionRecord>();
  const tasks = new Map<string, StoredTask>();

  const execOf = (ref: RunRef) => {
    const e = executions.get(ref.peid);
    return e && e.tenant_code === ref.tenant_code ? e : undefined;
  };
  const taskOf = (ref: RunRef, taskId: string) => {
    const t = tasks.get(taskKey(ref.peid, taskId));
    return t && t.tenant_code === ref.tenant_code ? t : undefined;
  };
  const ofRuns = (refs: RunRef[]) => {
    const wanted = new Set(refs.map((r) => `${r.tenant_code}/${r.peid}`));
    return [...tasks.values()].filter((t) => wanted.has(`${t.tenant_code}/${t.peid}`));
  };
  const insertTasks = (records: TaskRecord[]) => {
    for (const t of records) {
      const key = taskKey(t.peid, t.task_id);
      if (!tasks.has(key)) tasks.set(key, copy(t));
    }
  };
  const out = (t: StoredTask): TaskRecord => copy(omit(t, ['transition_token']));
  const finish = (ref: RunRef, taskId: string, result: TaskResult, now: number, settled: boolean) => {
    const t = taskOf(ref, taskId);
    if (!t || !canTransition('finishWait', t)) return false;
    if (settled && !(Array.isArray(t.open_items) && t.open_items.length === 0)) return false;
    Object.assign(t, copy(result), { updateddate: now });
    return true;
  };
  const heldBy = (ref: RunRef, taskId: string, token: string) => {
    const t = taskOf(ref, taskId);
    return t?.claim?.token === token ? t : undefined;
  };

  return {
    executions,
    tasks,

    async insertRun(exec, records) {
      insertTasks(records);
      if (executions.has(exec.peid)) return false;
      executions.set(exec.peid, copy(exec));
      return true;
    },
    async deleteRun(ref) {
      if (execOf(ref)) executions.delete(ref.peid);
      for (const t of ofRuns([ref])) tasks.delete(taskKey(t.peid, t.task_id));
    },
    async getExecution(ref) {
      const e = execOf(ref);
      return e ? copy(e) : null;
    },
    async listExecutions(tenant_code, q) {
      const field = (['playbook_name', 'alert_id', 'trigger', 'mode'] as const).find((f) => q[f] !== undefined);
      return [...executions.values()]
        .filter((e) => e.tenant_code === tenant_code)
        .filter((e) => field === undefined || searchValue(e, field) === q[field])
        .filter((e) => q.status === undefined || e.execution_status === q.status)
        .filter(
          (e) =>
            (q.since === undefined || e.createddate >= q.since) && (q.until === undefined || e.createddate < q.until),
        )
        .filter((e) => {
          const b = q.before;
          return !b || e.createddate < b.createddate || (e.createddate === b.createddate && e.peid < b.peid);
        })
        .sort((a, b) => b.createddate - a.createddate || (a.peid < b.peid ? 1 : a.peid > b.peid ? -1 : 0))
        .slice(0, q.limit)
        .map((e) => copy(omit(e, ['alert_json', 'open_tasks'])));
    },
    async listGraphTasks(ref, opts) {
      return ofRuns([ref])
        .filter(isGraphTask)
        .sort((a, b) => a.task_seq - b.task_seq)
        .map((t) => withoutTokenHash({ ...out(t), ...(opts.outputs ? {} : { output_json: null }) }));
    },
    async listItemStates(ref) {
      return ofRuns([ref])
        .filter(isLoopItem)
        .map((t) => copy(pick(t, ITEM_STATE_FIELDS)) as ItemState)
        .sort((a, b) => a.task_seq - b.task_seq || a.item_index - b.item_index);
    },

    async closeTasks(ref, ends, now, complete) {
      // Atomic, like the adapter's pipeline update: completing needs no view of the open set.
      const e = execOf(ref);
      if (!e) return null;
      const before = copy(omit(e, ['alert_json']));
      const ids = ends.map((x) => x.task_id);
      e.open_tasks = e.open_tasks.filter((id) => !ids.includes(id));
      e.task_ends = { ...(e.task_ends ?? {}), ...Object.fromEntries(ends.map((x) => [x.task_id, x.status])) };
      e.updateddate = now;
      const completed = complete !== undefined && e.execution_status === 'running' && e.open_tasks.length === 0;
      if (completed)
        Object.assign(e, {
          execution_status: 'completed',
          completeddate: now,
          playbook_runtime: now - complete.createddate,
        });
      return { before, after: copy(omit(e, ['alert_json'])), completed };
    },
    async finishRun(ref, status, now, createddate, error, audit) {
      const e = execOf(ref);
      if (e?.execution_status !== 'running') return false;
      Object.assign(e, { execution_status: status, completeddate: now, playbook_runtime: now - createddate });
      e.updateddate = now;
      if (error) e.error = copy(error);
      if (audit) e.audit_pending = [...(e.audit_pending ?? []), copy(audit)];
      return true;
    },
    async cancelOpenTasks(refs, now) {
      for (const t of ofRuns(refs)) {
        if (canTransition('cancel', t)) Object.assign(t, { status: 'cancelled', finished_at: now, updateddate: now });
      }
    },
    async cancelRuns(runs, now, error) {
      for (const r of runs) {
        const e = execOf(r);
        if (e?.execution_status !== 'running') continue;
        Object.assign(e, { execution_status: 'cancelled', completeddate: now, playbook_runtime: now - r.createddate });
        Object.assign(e, { updateddate: now, error: copy(error) });
      }
    },
    async childRuns(parents) {
      const wanted = new Set(parents.map((p) => `${p.tenant_code}/${p.peid}`));
      return [...executions.values()]
        .filter((e) => e.parent && wanted.has(`${e.tenant_code}/${e.parent.peid}`))
        .map((e) => copy(pick(e, ['peid', 'tenant_code', 'execution_status', 'createddate', 'parent'])) as never);
    },

    async claimTasks(claims, token, leaseUntil, now) {
      let matched = 0;
      for (const c of claims) {
        const t = taskOf(c, c.task_id);
        if (!t || !canTransition('claim', t)) continue;
        const fresh = t.status === 'queued' && t.attempts === c.attempt - 1;
        const takeover = t.status === 'running' && t.attempts === c.attempt && (t.claim?.until ?? now) < now;
        if (!fresh && !takeover) continue;
        Object.assign(t, { status: 'running', attempts: c.attempt, claim: { token, until: leaseUntil } });
        Object.assign(t, { started_at: now, updateddate: now });
        matched += 1;
      }
      return matched;
    },
    async loadExecutions(refs) {
      const wanted = new Set(refs.map((r) => `${r.tenant_code}/${r.peid}`));
      return [...new Set(refs.map((r) => r.peid))]
        .map((p) => executions.get(p))
        .filter((e): e is ExecutionRecord => e !== undefined && wanted.has(`${e.tenant_code}/${e.peid}`))
        .map((e) => copy(e));
    },
    async loadGraphStates(refs) {
      return ofRuns(refs)
        .filter(isGraphTask)
        .map((t) => omit(out(t), ['def', 'dependents']) as TaskStateRecord);
    },
    async loadTasks(keys) {
      const found = keys.map((k) => taskOf(k, k.task_id)).filter((t): t is StoredTask => t !== undefined);
      return [...new Map(found.map((t) => [taskKey(t.peid, t.task_id), t])).values()].map(out);
    },
    async loadRuns(refs, itemKeys = []) {
      const wanted = new Set(refs.map((r) => `${r.tenant_code}/${r.peid}`));
      const execs = [...new Set(refs.map((r) => r.peid))]
        .map((p) => executions.get(p))
        .filter((e): e is ExecutionRecord => e !== undefined && wanted.has(`${e.tenant_code}/${e.peid}`));
      const graph = ofRuns(refs).filter(isGraphTask);
      const items = itemKeys
        .map((k) => tasks.get(k))
        .filter((t): t is StoredTask => t !== undefined && wanted.has(`${t.tenant_code}/${t.peid}`));
      return { executions: execs.map((e) => copy(e)), tasks: [...graph, ...items].map(out) };
    },
    async taskStates(keys) {
      const found = keys.map((k) => taskOf(k, k.task_id)).filter((t): t is StoredTask => t !== undefined);
      const unique = [...new Map(found.map((t) => [taskKey(t.peid, t.task_id), t])).values()];
      return unique.map((t) => copy(pick(t, TASK_STATE_FIELDS)) as TaskState);
    },
    async writeTaskResults(writes, token, now) {
      const won = new Set<string>();
      for (const w of writes) {
        const { tenant_code: _t, peid: _p, task_id: _i, mocked, decided, ...result } = copy(w);
        if (decided) {
          const t = taskOf(w, w.task_id);
          if (!t || !canTransition('decide', t)) continue;
          Object.assign(t, result, { claim: null, updateddate: now, transition_token: token }, decided);
          if (mocked) t.mocked = mocked;
          won.add(taskKey(w.peid, w.task_id));
          continue;
        }
        const t = heldBy(w, w.task_id, token);
        if (!t) continue;
        Object.assign(t, result, { claim: null, updateddate: now }, mocked ? { mocked } : {});
      }
      return won;
    },
    async transitionPending(transitions, token, now) {
      const won = new Set<string>();
      for (const p of transitions) {
        const t = taskOf(p, p.task_id);
        if (!t || !canTransition('decide', t)) continue;
        Object.assign(t, { status: p.to, transition_token: token, updateddate: now });
        if (p.to === 'skipped') t.finished_at = now;
        won.add(taskKey(p.peid, p.task_id));
      }
      return won;
    },

    async insertItems(items) {
      insertTasks(items);
    },
    async markExpanded(ref, taskId, total, token, now) {
      const t = heldBy(ref, taskId, token);
      if (!t) return false;
      Object.assign(t, { claim: null, items_total: total, open_items: Array.from({ length: total }, (_, i) => i) });
      t.updateddate = now;
      return true;
    },
    async closeItems(ref, taskId, indices, now) {
      const t = taskOf(ref, taskId);
      if (!t) return null;
      if (t.open_items) t.open_items = t.open_items.filter((i) => !indices.includes(i));
      t.updateddate = now;
      return out(t);
    },
    async loadItems(ref, taskId) {
      return ofRuns([ref])
        .filter((t) => t.item_of === taskId)
        .sort((a, b) => (a.item_index ?? 0) - (b.item_index ?? 0))
        .map((t) => copy(pick(t, ['item_index', 'status', 'output_json', 'error'])) as never);
    },
    async finishLoop(ref, taskId, result, now) {
      return finish(ref, taskId, result, now, true);
    },
    async markWaiting(ref, taskId, childPeid, token, now) {
      const t = heldBy(ref, taskId, token);
      if (!t) return false;
      Object.assign(t, { claim: null, child_peid: childPeid, updateddate: now });
      return true;
    },
    async finishWaiting(ref, taskId, result, now) {
      return finish(ref, taskId, result, now, false);
    },

    async chargeWork(root, units, budget) {
      const e = execOf(root);
      if (!e || (e.work_used ?? 0) > budget - units) return false;
      e.work_used = (e.work_used ?? 0) + units;
      return true;
    },

    async resetTasks(ref, resets, now) {
      for (const r of resets) {
        const t = taskOf(ref, r.task_id);
        if (!t) continue;
        const allowed = r.redo ? canTransition('redo', t) && t.undo?.state === 'undone' : canTransition('reset', t);
        if (!allowed) continue;
        Object.assign(t, { status: r.status, ...NOT_STARTED, updateddate: now });
        // An approval asks again (new question, token and deadline), a delay waits again.
        delete t.wait;
        delete t.approval;
        delete t.undo;
        if (r.open_items !== undefined) t.open_items = [...r.open_items];
        if (r.item_successor === null) delete t.item_successor;
        else if (r.item_successor !== undefined) t.item_successor = r.item_successor;
      }
    },
    async reopenRun(ref, previous, openTasks, attempt, now, audit) {
      const e = execOf(ref);
      if (!e || e.execution_status !== previous.execution_status || e.attempt !== previous.attempt) return false;
      const history = {
        attempt: previous.attempt ?? 1,
        execution_status: previous.execution_status,
        error: previous.error ?? null,
        completeddate: previous.completeddate ?? null,
      };
      Object.assign(e, { execution_status: 'running', attempt, open_tasks: [...openTasks], error: null });
      Object.assign(e, { completeddate: null, playbook_runtime: null, updateddate: now });
      e.history = [...(e.history ?? []), copy(history)];
      if (audit) e.audit_pending = [...(e.audit_pending ?? []), copy(audit)];
      return true;
    },
  };
}
