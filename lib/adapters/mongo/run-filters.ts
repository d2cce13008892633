/** Pieces shared by the run stores: document shapes, tenant grouping, graph-task filters, bulk writes. */
import { type AnyBulkWriteOperation, type Collection, type Filter, MongoServerError } from 'mongodb';
import { type ExecutionRecord, type RunRef, type TaskRecord, taskKey } from '../../engine/model.js';
import { timedDbCall } from '../../observability.js';

export type ExecutionDoc = ExecutionRecord & { _id: string };
export type TaskDoc = TaskRecord & { _id: string; transition_token?: string };

/** The batch size of bulk writes (the original Go service's). */
export const BULK_CHUNK = 1000;

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function byTenant(refs: RunRef[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of refs) {
    const list = m.get(r.tenant_code) ?? [];
    if (!list.includes(r.peid)) list.push(r.peid);
    m.set(r.tenant_code, list);
  }
  return m;
}

/** `{ tenant_code, peid: { $in } }` per tenant, or-ed when a batch spans tenants. */
export function runFilter(refs: RunRef[]): Filter<TaskDoc> {
  const parts = [...byTenant(refs)].map(([tenant_code, peids]) => ({ tenant_code, peid: { $in: peids } }));
  return parts.length === 1 ? (parts[0] as Filter<TaskDoc>) : { $or: parts };
}

/** `item_of: null` also matches a missing field (the driver's Filter type does not model that). */
export const NOT_AN_ITEM = { item_of: null } as unknown as Filter<TaskDoc>;

/**
 * Restricts a task filter to graph tasks: for_each items carry `item_of`. Unlike
 * `$exists: false`, the null equality is served by the peid_item_seq index.
 */
export function graphOnly(filter: Filter<TaskDoc>): Filter<TaskDoc> {
  return '$or' in filter
    ? { $or: (filter.$or ?? []).map((f) => ({ ...f, ...NOT_AN_ITEM })) }
    : { ...filter, ...NOT_AN_ITEM };
}

/** `item_of` not null: a for_each item (a range on the peid_item_seq index's second field). */
export const AN_ITEM = { item_of: { $ne: null } } as unknown as Filter<TaskDoc>;

/** Unordered bulk writes of task updates, BULK_CHUNK at a time; how many documents matched. */
export async function bulkTasks(tasks: Collection<TaskDoc>, ops: AnyBulkWriteOperation<TaskDoc>[]): Promise<number> {
  let matched = 0;
  for (const part of chunks(ops, BULK_CHUNK)) {
    const res = await timedDbCall(() => tasks.bulkWrite(part, { ordered: false }));
    matched += res.matchedCount;
  }
  return matched;
}

/** True for a MongoDB duplicate-key failure (also inside a bulk write error, where every write failed so). */
export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof MongoServerError && err.code === 11000) return true;
  const raw = (err as { writeErrors?: unknown } | null)?.writeErrors;
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ code?: number }>;
  return list.length > 0 && list.every((w) => w.code === 11000);
}

/** Inserts task documents (keyed `peid:task_id`); those that exist already are kept (a retried write). */
export async function insertTasks(tasks: Collection<TaskDoc>, records: TaskRecord[]): Promise<void> {
  if (records.length === 0) return;
  try {
    await timedDbCall(() =>
      tasks.insertMany(
        records.map((t) => ({ _id: taskKey(t.peid, t.task_id), ...t })),
        { ordered: false },
      ),
    );
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}
