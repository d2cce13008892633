/**
 * The first stage of a batch: its messages parsed and grouped by task attempt, then the bulk
 * claim, sent together with the read of the runs involved.
 */
import { logger } from '../../observability.js';
import { isItemId, type RunRef, type TaskMessage, taskKey } from '../model.js';
import type { LoadedRuns, TaskClaims } from '../ports/task-claims.js';
import { parseTaskMessage } from '../task-messages.js';

export interface BatchItem {
  messageId: string;
  body: string;
}

/** One task attempt of the batch, and the messages that asked for it (duplicates share it). */
export interface Job {
  msg: TaskMessage;
  /** The task's key (`peid:task_id`). */
  key: string;
  messageIds: string[];
}

/** The batch's jobs, and the messages that are not task messages (never processable). */
export function parseBatch(items: BatchItem[]): { jobs: Job[]; unparsable: string[] } {
  const unparsable: string[] = [];
  const jobs = new Map<string, Job>();
  for (const item of items) {
    const msg = parseTaskMessage(item.body);
    if (!msg) {
      // Never processable: let it reach the DLQ through maxReceiveCount.
      logger.error('unparsable task message', { messageId: item.messageId });
      unparsable.push(item.messageId);
      continue;
    }
    const id = `${taskKey(msg.peid, msg.task_id)}#${msg.attempt}`;
    const existing = jobs.get(id);
    if (existing) existing.messageIds.push(item.messageId);
    else jobs.set(id, { msg, key: taskKey(msg.peid, msg.task_id), messageIds: [item.messageId] });
  }
  return { jobs: [...jobs.values()], unparsable };
}

/**
 * Claims every job's attempt under `token` and reads the runs involved. The runs are read while
 * the claim is applied: when every claim matched (the usual first delivery), the claimed tasks
 * are exactly what the claim wrote; otherwise (duplicates, redeliveries, takeovers) they are
 * read again after it, to see who holds what.
 */
export async function claimAndLoad(
  runs: TaskClaims,
  jobs: Job[],
  token: string,
  leaseUntil: number,
  now: number,
): Promise<LoadedRuns> {
  const claims = jobs.map((j) => j.msg);
  const refs = uniqueRefs(claims);
  // for_each items are read by id; a run's graph tasks are read whole.
  const itemKeys = jobs.filter((j) => isItemId(j.msg.task_id)).map((j) => j.key);
  const [matched, early] = await Promise.all([
    runs.claimTasks(claims, token, leaseUntil, now),
    runs.loadRuns(refs, itemKeys),
  ]);
  const readKeys = new Set(early.tasks.map((t) => taskKey(t.peid, t.task_id)));
  const settled =
    matched === claims.length &&
    new Set(jobs.map((j) => j.key)).size === jobs.length &&
    jobs.every((j) => readKeys.has(j.key));
  return settled ? withClaims(early, jobs, token, leaseUntil, now) : runs.loadRuns(refs, itemKeys);
}

/** `loaded` as a read after the claim would return it: every job's task running under `token`. */
function withClaims(loaded: LoadedRuns, jobs: Job[], token: string, until: number, now: number): LoadedRuns {
  const attempts = new Map(jobs.map((j) => [j.key, j.msg.attempt]));
  const tasks = loaded.tasks.map((t) => {
    const attempt = attempts.get(taskKey(t.peid, t.task_id));
    if (attempt === undefined) return t;
    return {
      ...t,
      status: 'running' as const,
      attempts: attempt,
      claim: { token, until },
      started_at: now,
      updateddate: now,
    };
  });
  return { executions: loaded.executions, tasks };
}

function uniqueRefs(msgs: TaskMessage[]): RunRef[] {
  const seen = new Map<string, RunRef>();
  for (const m of msgs) seen.set(`${m.tenant_code}/${m.peid}`, { tenant_code: m.tenant_code, peid: m.peid });
  return [...seen.values()];
}
