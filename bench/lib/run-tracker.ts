/**
 * Waits for many runs at once with one polling loop: every `everyMs`, one query
 * by `_id: {$in: pending}` (served from the _id index) for the runs no longer
 * running. Completion times are the product's own `completeddate`, so the
 * polling interval only delays when a waiter learns of it, not what it measures.
 */
import type { Db } from 'mongodb';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import type { FinishedRun } from './workload.js';

export interface RunTracker {
  wait(peid: string): Promise<FinishedRun>;
  close(): void;
}

export function createRunTracker(db: Db, everyMs = 10, timeoutMs = 120_000): RunTracker {
  const col = db.collection<{ _id: string } & Omit<FinishedRun, 'peid'>>(COLLECTIONS.executions);
  const waiters = new Map<string, { since: number; resolve(r: FinishedRun): void; reject(e: Error): void }>();
  let closed = false;
  const poll = async () => {
    while (!closed) {
      if (waiters.size > 0) {
        try {
          const rows = await col
            .find(
              { _id: { $in: [...waiters.keys()] }, execution_status: { $ne: 'running' } },
              { projection: { execution_status: 1, createddate: 1, completeddate: 1 } },
            )
            .toArray();
          for (const r of rows) {
            waiters.get(r._id)?.resolve({
              peid: r._id,
              execution_status: r.execution_status,
              createddate: r.createddate,
              completeddate: r.completeddate ?? Date.now(),
            });
            waiters.delete(r._id);
          }
        } catch {
          // A transient read error: try again on the next tick.
        }
        const now = Date.now();
        for (const [peid, w] of waiters) {
          if (now - w.since <= timeoutMs) continue;
          w.reject(new Error(`run ${peid} still running after ${timeoutMs} ms`));
          waiters.delete(peid);
        }
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  void poll();
  return {
    wait(peid) {
      return new Promise((resolve, reject) => waiters.set(peid, { since: Date.now(), resolve, reject }));
    },
    close() {
      closed = true;
      for (const w of waiters.values()) w.reject(new Error('tracker closed'));
      waiters.clear();
    },
  };
}
