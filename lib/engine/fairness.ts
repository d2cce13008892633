/**
 * Per-tenant fairness: a cap on the tasks of one tenant running at the same time,
 * across every executeTask container, so one tenant's alert storm cannot starve
 * the others (Tracecat's Redis semaphores with a TTL; Tines' share of workers).
 *
 * Before a batch runs, its messages are admitted per tenant against slots held in a
 * shared store (TenantSlots: one slot per task key, with a lease). Messages over
 * their tenant's cap are not run and not dropped: they are parked in the store, in
 * arrival order, and reported as done so SQS deletes the original. Admitted messages
 * run; their slots are released when the batch ends, whether it succeeded or threw,
 * and the release moves the oldest parked tasks into the slots it freed (reserved for
 * them) and sends them to the queue at once. So a capped tenant's slots are refilled
 * as soon as they free, whatever its tasks' length. A lease (the function's remaining
 * time + a margin) frees the slots of a worker that crashed.
 *
 * The parked copy lives in Redis, which may lose it (eviction, failover, a crash
 * between the release and the send). So every deferral also sends a delayed copy of
 * the message through the queue (marked `deferred`): the durable one. When it comes
 * back, a task still parked is admitted if a slot is free or stays parked (with a new
 * delayed copy); a task no longer parked was promoted, and its copy runs without a
 * slot: the engine runs a task once, whichever copy arrives first, and if the promoted
 * message was lost this one is the task. The delay grows with the tenant's backlog
 * (its tasks currently parked): backlog / (RETURNS_PER_SLOT_SECOND x cap) seconds,
 * at least the base and at most the maximum, with jitter: about when the task's turn
 * comes if the tenant's tasks take a second each. Shorter tasks are promoted before
 * their copy returns, which then costs one claim that finds the task taken; a storm's
 * copies come back at about RETURNS_PER_SLOT_SECOND x cap per second whatever its size,
 * and never occupy the workers the other tenants need.
 *
 * Fairness is best-effort and must never stop work: when the slot store is
 * unavailable (or slow), or the deferral cannot be sent, everything is admitted
 * (fail open) with a warning at most once per interval. The store is then skipped
 * for a short cooldown, so an unreachable Redis costs one command timeout per
 * cooldown, not one per batch.
 */
import { logger, MetricUnit, metrics } from '../observability.js';
import type { BatchItem } from './batch/intake.js';
import type { BatchResult } from './execute-batch.js';
import { type TaskMessage, taskKey } from './model.js';
import type { OutgoingTaskMessage, TaskQueue } from './ports/task-queue.js';
import type { SlotRequest, SlotsAcquired, TenantSlots } from './ports/tenant-slots.js';
import { parseTaskMessage } from './task-messages.js';

export interface FairnessDeps {
  slots: TenantSlots;
  queue: TaskQueue;
  /** The tenant's cap on running tasks (its override, or the default). */
  capFor: (tenant: string) => number;
  /** The shortest delay of a deferred message, in seconds. */
  deferSeconds: number;
  /** The longest delay of a deferred message, in seconds (a huge backlog). */
  maxDeferSeconds: number;
  /** Added to the function's remaining time for a slot's lease. */
  leaseMarginMs: number;
  random: () => number;
  clock: () => number;
  /** How long the slot store is skipped after it failed (default 5 s). */
  cooldownMs?: number;
  /** At most one fail-open warning per this interval (default 60 s). */
  warnEveryMs?: number;
}

export interface Fairness {
  /**
   * Admits `items` per tenant, defers the rest, runs `execute` on the admitted ones
   * and releases their slots when it returns or throws. The result is `execute`'s:
   * deferred messages are never reported as failures.
   */
  run(
    items: BatchItem[],
    remainingTimeMs: number,
    execute: (admitted: BatchItem[]) => Promise<BatchResult>,
  ): Promise<BatchResult>;
}

/** The message as first sent: what is parked and promoted. */
function withoutDeferredMark(msg: TaskMessage): TaskMessage {
  const { deferred: _deferred, ...rest } = msg;
  return rest;
}

/** SQS's maximum DelaySeconds. */
const MAX_DELAY_SECONDS = 900;

interface Parsed {
  item: BatchItem;
  msg: TaskMessage;
  key: string;
}

interface Admission {
  run: BatchItem[];
  /** Slots this batch took, per tenant, to release when it ends. */
  owned: Map<string, string[]>;
}

/**
 * Delayed copies of a tenant come back at about this many per second per slot of its cap.
 * Promotion from the parked set is what refills the slots; the copies are the durable
 * fallback, so they need not come back faster than a tenant of 1 s tasks would run them.
 */
export const RETURNS_PER_SLOT_SECOND = 1;

/**
 * The delay of a deferred message: backlog / (RETURNS_PER_SLOT_SECOND x cap) seconds
 * within [base, max], times a jitter of 0.75..1.25 so the copies spread out, in whole
 * seconds within [base, max] (and SQS's 900).
 */
export function deferDelaySeconds(
  backlog: number,
  cap: number,
  bounds: { baseSeconds: number; maxSeconds: number },
  random: () => number,
): number {
  const max = Math.min(MAX_DELAY_SECONDS, Math.max(bounds.baseSeconds, bounds.maxSeconds));
  const target = Math.min(max, Math.max(bounds.baseSeconds, backlog / (RETURNS_PER_SLOT_SECOND * Math.max(1, cap))));
  return Math.min(max, Math.max(bounds.baseSeconds, Math.ceil(target * (0.75 + random() / 2))));
}

export function createFairness(deps: FairnessDeps): Fairness {
  const cooldownMs = deps.cooldownMs ?? 5_000;
  const warnEveryMs = deps.warnEveryMs ?? 60_000;
  let skipUntil = Number.NEGATIVE_INFINITY;
  let lastWarned = Number.NEGATIVE_INFINITY;

  function failOpen(what: string, err: unknown, cooldown: boolean): void {
    const now = deps.clock();
    if (cooldown) skipUntil = now + cooldownMs;
    metrics.addMetric('FairnessFailOpen', MetricUnit.Count, 1);
    if (now - lastWarned >= warnEveryMs) {
      lastWarned = now;
      // acquire: the batch runs uncapped; defer: the over-cap messages run now; release: the leases expire.
      logger.warn('tenant fairness degraded, failing open', {
        what,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  async function admit(items: BatchItem[], remainingTimeMs: number): Promise<Admission> {
    const run: BatchItem[] = [];
    const owned = new Map<string, string[]>();
    // Per tenant, the batch's messages grouped by task key (duplicates count once), in arrival order.
    const byTenant = new Map<string, Map<string, Parsed[]>>();
    for (const item of items) {
      const msg = parseTaskMessage(item.body);
      if (!msg) {
        run.push(item); // executeBatch reports it as failed (it reaches the DLQ).
        continue;
      }
      // A timer's message holds no slot: one read and one conditional update, no integration call.
      if (msg.timer !== undefined) {
        run.push(item);
        continue;
      }
      const key = taskKey(msg.peid, msg.task_id);
      const tenant = byTenant.get(msg.tenant_code) ?? new Map<string, Parsed[]>();
      byTenant.set(msg.tenant_code, tenant);
      const group = tenant.get(key) ?? [];
      group.push({ item, msg, key });
      tenant.set(key, group);
    }
    if (byTenant.size === 0) return { run, owned };
    if (deps.clock() < skipUntil) return { run: items, owned };

    const leaseMs = Math.max(1_000, remainingTimeMs) + deps.leaseMarginMs;
    const bounds = { baseSeconds: deps.deferSeconds, maxSeconds: deps.maxDeferSeconds };
    const over: Array<Parsed & { delaySeconds: number }> = [];
    await Promise.all(
      [...byTenant].map(async ([tenant, groups]) => {
        const keys = [...groups.keys()];
        const cap = deps.capFor(tenant);
        const requests = keys.map((key): SlotRequest => {
          const group = groups.get(key) ?? [];
          const first = group[0]?.msg;
          return {
            key,
            body: first ? JSON.stringify(withoutDeferredMark(first)) : '',
            deferredCopy: group.every((p) => p.msg.deferred === true),
          };
        });
        let acquired: SlotsAcquired;
        try {
          acquired = await deps.slots.acquire(tenant, requests, cap, leaseMs);
        } catch (err) {
          failOpen('acquire', err, true);
          acquired = { grants: keys.map(() => 'held'), deferred: 0 };
        }
        keys.forEach((key, i) => {
          const grant = acquired.grants[i] ?? 'held';
          const group = groups.get(key) ?? [];
          if (grant === 'over') {
            const delaySeconds = deferDelaySeconds(acquired.deferred, cap, bounds, deps.random);
            for (const p of group) over.push({ ...p, delaySeconds });
            return;
          }
          if (grant === 'new') owned.set(tenant, [...(owned.get(tenant) ?? []), key]);
          for (const p of group) run.push(p.item);
        });
      }),
    );
    if (over.length === 0) return { run, owned };

    // The durable copies: one per distinct message (task key and attempt), duplicates in the
    // batch collapse. Parked in the store as well, they usually run before these come back.
    const copies = new Map<string, OutgoingTaskMessage>();
    for (const p of over) {
      const id = `${p.key}#${p.msg.attempt}`;
      if (!copies.has(id)) copies.set(id, { message: { ...p.msg, deferred: true }, delaySeconds: p.delaySeconds });
    }
    try {
      await deps.queue.send([...copies.values()]);
      metrics.addMetric('TasksDeferred', MetricUnit.Count, copies.size);
      logger.debug('tasks deferred over their tenant cap', {
        deferred: [...copies.values()].map((c) => [c.message.tenant_code, c.delaySeconds]),
      });
    } catch (err) {
      // Not re-sent (or only partly: a duplicate is harmless): run them now rather than lose or stall them.
      failOpen('defer', err, false);
      for (const p of over) run.push(p.item);
    }
    return { run, owned };
  }

  /** Frees the batch's slots and sends the parked tasks promoted into them. */
  async function release(owned: Map<string, string[]>): Promise<void> {
    await Promise.all(
      [...owned].map(async ([tenant, keys]) => {
        let promoted: string[];
        try {
          promoted = await deps.slots.release(tenant, keys, deps.capFor(tenant));
        } catch (err) {
          failOpen('release', err, false); // the leases expire; the delayed copies bring the parked tasks
          return;
        }
        const messages = promoted.flatMap((body) => {
          const message = parseTaskMessage(body);
          return message ? [{ message, delaySeconds: 0 }] : [];
        });
        if (messages.length === 0) return;
        try {
          await deps.queue.send(messages);
          metrics.addMetric('TasksPromoted', MetricUnit.Count, messages.length);
        } catch (err) {
          failOpen('promote', err, false); // their reservations expire; the delayed copies bring them
        }
      }),
    );
  }

  return {
    async run(items, remainingTimeMs, execute) {
      const admission = await admit(items, remainingTimeMs);
      try {
        return admission.run.length > 0 ? await execute(admission.run) : { failedMessageIds: [] };
      } finally {
        await release(admission.owned);
      }
    },
  };
}
