/** Per-tenant slots of running tasks, shared by every container (lib/engine/fairness.ts). */

/**
 * The outcome of one key: a new slot (owned, released by the caller), a live slot held
 * already, admitted without a slot (a deferred copy of a task promoted already), or over
 * the cap (parked).
 */
export type SlotGrant = 'new' | 'held' | 'pass' | 'over';

/** One task key asking for a slot, with the message to park when it is over the cap. */
export interface SlotRequest {
  key: string;
  /** The message body sent again when the task is promoted from the parked set. */
  body: string;
  /** Every message of this key in the batch is a deferred copy. */
  deferredCopy: boolean;
}

export interface SlotsAcquired {
  /** One per key, in order. */
  grants: SlotGrant[];
  /** The tenant's tasks currently parked (its backlog), this call's included. */
  deferred: number;
}

/** Slots of running tasks per tenant, shared by every container. Calls throw when the store is unavailable. */
export interface TenantSlots {
  /**
   * Atomically drops expired leases, then admits the keys (distinct, in order) while the
   * tenant holds fewer than `cap` live slots; each new slot lives `leaseMs`. A key that
   * already holds a live slot is admitted without a new one (it becomes the caller's when
   * it was reserved for a promotion). A deferred copy of a key no longer parked passes
   * without a slot. Keys over the cap are parked (oldest first) until promoted or admitted
   * (or forgotten after a while).
   */
  acquire(tenant: string, requests: SlotRequest[], cap: number, leaseMs: number): Promise<SlotsAcquired>;
  /**
   * Frees the slots of `keys`, then reserves the tenant's free slots (up to `cap`) for its
   * oldest parked tasks and returns their message bodies, for the caller to send now.
   */
  release(tenant: string, keys: string[], cap: number): Promise<string[]>;
  /** The number of live slots of a tenant (observability and tests). */
  running(tenant: string): Promise<number>;
}
