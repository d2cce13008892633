/** Pieces shared by the run stores: document shapes, tenant grouping, graph-task filters, bulk chunks. */
import type { Filter } from 'mongodb';
import type { ExecutionRecord, RunRef, TaskRecord } from '../../engine/model.js';

export type ExecutionDoc = ExecutionRecord & { _id: string };
export type TaskDoc = TaskRecord & { _id: string; transition_token?: string };

/** The seed's batch size for bulk writes. */
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
