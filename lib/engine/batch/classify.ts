/**
 * What each message of a batch asks for, decided from the task and run states read after the
 * claim: run it (this batch holds its attempt), cancel it (its run ended), re-drive what follows
 * a task already finished, re-send a recorded retry, resume a task woken by its child run, leave
 * the message for later (another worker holds a live claim), or drop it.
 */
import { isTerminalTask } from '../../domain/statuses.js';
import { type ExecutionRecord, isClaimedBy, isWaitingForChild, phaseOf, type TaskRecord } from '../model.js';
import type { OutgoingTaskMessage } from '../ports/task-queue.js';
import { taskMessage } from '../task-messages.js';
import type { Job } from './intake.js';

export type Disposition = 'run' | 'cancel' | 'redrive' | 'resend-retry' | 'resume' | 'later' | 'drop';

export function classify(
  job: Job,
  task: TaskRecord | undefined,
  exec: ExecutionRecord | undefined,
  token: string,
  now: number,
): Disposition {
  if (!task || !exec) return 'drop';
  const running = exec.execution_status === 'running';
  const thisAttempt = task.attempts === job.msg.attempt;
  // Only the message of the attempt this batch claimed runs it: a stale copy of an earlier
  // attempt in the same batch shares the task record (and so the claim token) but must not run it again.
  if (phaseOf(task) === 'claimed' && isClaimedBy(task, token) && thisAttempt) return running ? 'run' : 'cancel';
  if (isTerminalTask(task.status)) return 'redrive';
  // A sub-playbook task waiting for its child run: the child finished (or a duplicate woke it).
  if (isWaitingForChild(task) && thisAttempt) return running ? 'resume' : 'drop';
  // The retry of this attempt was recorded but its message may not have been sent.
  if (task.status === 'queued' && thisAttempt) return running ? 'resend-retry' : 'drop';
  // Another worker holds this attempt and its lease runs: try again later.
  if (phaseOf(task) === 'claimed' && thisAttempt && (task.claim?.until ?? 0) >= now) return 'later';
  return 'drop';
}

/** The batch's jobs sorted by what they ask for. */
export interface Classified {
  toRun: TaskRecord[];
  /** Tasks whose run ended before they started: cancelled by this batch. */
  toCancel: TaskRecord[];
  /** Tasks redelivered already finished: what follows them is driven again. */
  refinished: TaskRecord[];
  toResume: TaskRecord[];
  resend: OutgoingTaskMessage[];
  /** Message ids to leave on the queue. */
  later: string[];
  /** By task key, the messages of the jobs this batch acts on (left for redelivery if their commit fails). */
  messageIds: Map<string, string[]>;
}

export function classifyBatch(
  jobs: Job[],
  tasks: Map<string, TaskRecord>,
  execs: Map<string, ExecutionRecord>,
  token: string,
  now: number,
): Classified {
  const out: Classified = {
    toRun: [],
    toCancel: [],
    refinished: [],
    toResume: [],
    resend: [],
    later: [],
    messageIds: new Map(),
  };
  for (const job of jobs) {
    const task = tasks.get(job.key);
    const disposition = classify(job, task, execs.get(job.msg.peid), token, now);
    if (!task) continue;
    if (disposition !== 'later' && disposition !== 'drop')
      out.messageIds.set(job.key, [...(out.messageIds.get(job.key) ?? []), ...job.messageIds]);
    if (disposition === 'run') out.toRun.push(task);
    else if (disposition === 'cancel') out.toCancel.push(task);
    else if (disposition === 'redrive') out.refinished.push(task);
    else if (disposition === 'resend-retry') out.resend.push(taskMessage(task, task.attempts + 1, 0));
    else if (disposition === 'resume') out.toResume.push(task);
    else if (disposition === 'later') out.later.push(...job.messageIds);
  }
  return out;
}
