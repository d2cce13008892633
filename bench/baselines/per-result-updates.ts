/**
 * Baseline of case 1: the original Go service's "current" status writes, one updateOne per task
 * result, awaited one after another as the Go service's loop did. Same filter and
 * same update (taskResultUpdate) as the product's writeTaskResults; only the batching differs.
 */
import type { Db } from 'mongodb';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { taskResultUpdate } from '../../lib/adapters/mongo/task-claims-store.js';
import { taskKey } from '../../lib/engine/model.js';
import type { TaskResultWrite } from '../../lib/engine/ports/task-claims.js';

/**
 * Writes each result with its own round trip, in order. `token` null drops the tenant and
 * claim conditions from the filter (the index-served diagnostic of the case, not a real path).
 */
export async function writeResultsOneByOne(
  db: Db,
  writes: readonly TaskResultWrite[],
  token: string | null,
  now: number,
): Promise<void> {
  const tasks = db.collection<{ _id: string }>(COLLECTIONS.tasks);
  for (const w of writes) {
    const _id = taskKey(w.peid, w.task_id);
    await tasks.updateOne(
      token === null ? { _id } : { _id, tenant_code: w.tenant_code, 'claim.token': token },
      taskResultUpdate(w, now),
    );
  }
}

/** Diagnostic only: the product's unordered bulk write with `_id`-only filters. */
export async function bulkByIdOnly(db: Db, writes: readonly TaskResultWrite[], now: number): Promise<void> {
  const tasks = db.collection<{ _id: string }>(COLLECTIONS.tasks);
  await tasks.bulkWrite(
    writes.map((w) => ({
      updateOne: { filter: { _id: taskKey(w.peid, w.task_id) }, update: taskResultUpdate(w, now) },
    })),
    { ordered: false },
  );
}
