/**
 * The mixed-batch case's measure, from the stored task records alone: for each dependent of a fast
 * task, its `started_at` (when an invocation claimed it) minus its parent's `finished_at` (when the
 * parent's own call ended, stamped by the engine as the task finishes, not when its result is written).
 */

/** The fields of a task record the measure reads. */
export interface TaskTimes {
  peid: string;
  tenant_code: string;
  task_id: string;
  type: string;
  status: string;
  started_at: number | null;
  finished_at: number | null;
  depends_on: string[];
}

export interface DependentDelay {
  peid: string;
  tenant_code: string;
  parent: string;
  dependent: string;
  /** The dependent's type: `http` goes through the queue, `transform` may run in the invocation that decided it. */
  type: string;
  /** started_at of the dependent - finished_at of its parent, ms. */
  delayMs: number;
}

/**
 * The delay of every task whose only parent is a fast task (`isFast(task_id)`). Throws when a
 * dependent never started or a parent never finished: the run did not do what the case measures.
 */
export function dependentDelays(tasks: readonly TaskTimes[], isFast: (taskId: string) => boolean): DependentDelay[] {
  const byKey = new Map(tasks.map((t) => [`${t.peid}/${t.task_id}`, t]));
  const out: DependentDelay[] = [];
  for (const t of tasks) {
    if (t.depends_on.length !== 1) continue;
    const parentId = t.depends_on[0] as string;
    if (!isFast(parentId)) continue;
    const parent = byKey.get(`${t.peid}/${parentId}`);
    if (!parent) throw new Error(`run ${t.peid}: no task ${parentId} (parent of ${t.task_id})`);
    if (parent.finished_at === null || t.started_at === null)
      throw new Error(
        `run ${t.peid}: ${parentId} ${parent.status} (finished_at ${parent.finished_at}), ${t.task_id} ${t.status} (started_at ${t.started_at})`,
      );
    out.push({
      peid: t.peid,
      tenant_code: t.tenant_code,
      parent: parentId,
      dependent: t.task_id,
      type: t.type,
      delayMs: t.started_at - parent.finished_at,
    });
  }
  return out;
}

/**
 * Whether the root tasks of each batch were claimed together: the engine stamps `started_at` with
 * its claim time, one per invocation, so one distinct value means one invocation took them all.
 * Returns, per batch, the number of distinct claim times of its roots.
 */
export function claimInstants(tasks: readonly TaskTimes[], batches: ReadonlyArray<readonly string[]>): number[] {
  return batches.map((peids) => {
    const roots = tasks.filter((t) => peids.includes(t.peid) && t.depends_on.length === 0);
    return new Set(roots.map((t) => t.started_at)).size;
  });
}
