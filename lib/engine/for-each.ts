/**
 * `for_each` loops: a loop task's first execution evaluates its list and
 * writes one item task per element (the same definition, `item` and `index`
 * in its templates). At most `concurrency` items are queued at once: item i,
 * when it finishes, hands over to item i + concurrency with an atomic
 * pending->queued claim, so the window holds under redelivery. When the last
 * item finishes, the loop task finishes with the item outputs in input order.
 * Items are loaded by id, never wholesale, so per-item engine work is constant.
 */
import { ExpressionError, evaluateExpression } from '../domain/expressions.js';
import { MAX_FOR_EACH_ITEMS } from '../domain/playbook-schema.js';
import { itemTaskId, newTaskRecord, type TaskRecord } from './model.js';
import type { TaskResultWrite } from './ports/task-claims.js';
import { capOutput, type TaskOutcome, type TemplateContext } from './run-task.js';

export type Expansion = { kind: 'items'; items: unknown[] } | { kind: 'outcome'; outcome: TaskOutcome };

/** Evaluates a loop task's list: a single value is a list of one, null or nothing an empty list. */
export async function expandForEach(task: TaskRecord, ctx: TemplateContext, deadline: number): Promise<Expansion> {
  const failed = (code: string, message: string): Expansion => ({
    kind: 'outcome',
    outcome: { status: 'failed', output: null, error: { code, message }, retryable: false },
  });
  let value: unknown;
  try {
    value = await evaluateExpression(task.def.for_each ?? '[]', ctx, { deadline });
  } catch (err) {
    if (err instanceof ExpressionError) return failed(err.code, err.message);
    throw err;
  }
  const items = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  if (items.length > MAX_FOR_EACH_ITEMS) {
    return failed('FOR_EACH_TOO_LARGE', `for_each yielded ${items.length} items; at most ${MAX_FOR_EACH_ITEMS}`);
  }
  if (items.length === 0) {
    return { kind: 'outcome', outcome: { status: 'succeeded', output: [], error: null, retryable: false } };
  }
  return { kind: 'items', items };
}

/** The item task documents of an expanded loop, the first `concurrency` of them queued. */
export function planItems(loop: TaskRecord, items: unknown[], now: number): { docs: TaskRecord[]; queued: number[] } {
  const { for_each: _list, ...itemDef } = loop.def;
  const window = loop.def.concurrency ?? items.length;
  const docs = items.map(
    (item, index): TaskRecord => ({
      ...newTaskRecord(
        {
          peid: loop.peid,
          tenant_code: loop.tenant_code,
          alert_id: loop.alert_id,
          task_seq: loop.task_seq,
          task_id: itemTaskId(loop.task_id, index),
          type: loop.type,
          def: { ...itemDef, concurrency: window } as TaskRecord['def'],
          dependents: [],
          status: index < window ? 'queued' : 'pending',
        },
        now,
      ),
      item_of: loop.task_id,
      item_index: index,
      item_json: JSON.stringify(item ?? null),
      ...(index + window < items.length ? { item_successor: index + window } : {}),
    }),
  );
  return { docs, queued: docs.filter((d) => d.status === 'queued').map((d) => d.item_index ?? 0) };
}

/** The template context of one item: the run's context plus `item` and `index`. */
export function itemContext(
  ctx: TemplateContext,
  item: TaskRecord,
): TemplateContext & { item: unknown; index: number } {
  return {
    get alert(): unknown {
      return ctx.alert;
    },
    tasks: ctx.tasks,
    execution: ctx.execution,
    item: JSON.parse(item.item_json ?? 'null') as unknown,
    index: item.item_index ?? 0,
  };
}

/** The item that takes over the window slot of `item` when it finishes, if any. */
export function successorOf(item: TaskRecord): number | undefined {
  return item.item_successor;
}

/**
 * The hand-over chains of a set of items to (re)run under a window of `window`:
 * items sharing `index mod window` form one chain, run one after another, so at
 * most `window` are in flight. Returns each item's successor and the chain heads.
 */
export function itemChains(indices: number[], window: number): { successor: Map<number, number>; heads: number[] } {
  const successor = new Map<number, number>();
  const last = new Map<number, number>();
  const heads: number[] = [];
  for (const i of [...indices].sort((a, b) => a - b)) {
    const chain = i % window;
    const prev = last.get(chain);
    if (prev === undefined) heads.push(i);
    else successor.set(prev, i);
    last.set(chain, i);
  }
  return { successor, heads };
}

/** A finished loop's result: item outputs in input order; failed if any item failed. */
export function loopResult(
  items: Array<Pick<TaskRecord, 'item_index' | 'status' | 'output_json' | 'error'>>,
  outputMaxBytes: number,
  now: number,
  startedAt: number | null,
): Omit<TaskResultWrite, 'tenant_code' | 'peid' | 'task_id'> {
  const outputs = items.map((i) => (i.output_json === null ? null : (JSON.parse(i.output_json) as unknown)));
  const failed = items.filter((i) => i.status === 'failed' || i.status === 'cancelled');
  const first = failed[0];
  const capped = capOutput(outputs, outputMaxBytes);
  return {
    status: failed.length > 0 ? 'failed' : 'succeeded',
    output_json: capped.output_json,
    truncated: capped.truncated,
    error: first
      ? {
          code: 'ITEMS_FAILED',
          message: `${failed.length} of ${items.length} items failed (item ${first.item_index}: ${first.error?.message ?? first.status})`,
        }
      : null,
    finished_at: now,
    duration_ms: startedAt === null ? null : now - startedAt,
  };
}
