/**
 * One SQS batch of task messages, in stages (lib/engine/batch/): one bulk claim sent with one read
 * of the runs involved (intake; the graph from the pinned version's cache), the claimed tasks run
 * concurrently (classify, dispatch), and each, as it finishes, joins the next commit group
 * (commit.ts): a group's results and the decisions its own ends make go out in one unordered bulk
 * write, loops and sub-playbook waits settle, failing runs end (fatal), one update per run closes
 * what ended and completes the run when it was the last, and what the closes decide is queued,
 * skipped, or run inline in the next group (commit-group.ts). A slow task never holds back a fast
 * one; the invocation returns when every group has committed. Every step is idempotent, so a
 * redelivered message completes what a crashed invocation left half done and never calls an
 * integration twice for a finished task.
 */
import { logger } from '../observability.js';
import { classifyBatch } from './batch/classify.js';
import { type CommitPolicy, createCommitter, type Timer } from './batch/commit.js';
import { commitGroup } from './batch/commit-group.js';
import { type Dispatched, dispatchOne } from './batch/dispatch.js';
import { type BatchItem, claimAndLoad, parseBatch } from './batch/intake.js';
import { type GroupContext, type Member, memberRun } from './batch/members.js';
import { contextOf, type RunView } from './batch/run-view.js';
import { splitUndoItems, withUndos } from './batch/undo.js';
import { type BatchWaits, handleTimerMessages, takeTimerMessages } from './batch/waits.js';
import { type ExecutionRecord, taskKey } from './model.js';
import type { ChildRunDeps } from './ports/child-runs.js';
import type { IntegrationClient } from './ports/integrations.js';
import type { RunGraphs } from './ports/run-graphs.js';
import type { RunStore } from './ports/run-store.js';
import type { SecretResolver } from './ports/secrets.js';
import type { TaskQueue } from './ports/task-queue.js';
import type { TimerStore } from './ports/timers.js';
import { wakeParentsOfEnded } from './run-lifecycle.js';
import type { TemplateContext } from './run-task.js';
import type { UndoDeps } from './undo.js';

export { fanInKeys, planFanIn } from './batch/fan-in.js';
export type { BatchItem } from './batch/intake.js';

export interface ExecuteBatchDeps {
  runs: RunStore;
  queue: TaskQueue;
  integrations: IntegrationClient;
  clock: () => number;
  newToken: () => string;
  random: () => number;
  outputMaxBytes: number;
  leaseMarginMs: number;
  /** Integration secrets for http task templates (absent: a task referencing one fails). */
  secrets?: SecretResolver;
  /** Starts sub-playbook runs; without it `playbook` tasks fail. */
  children?: ChildRunDeps;
  /** Work a run and its sub-playbook runs may create together (work-budget.ts); default 5,000. */
  workBudget?: number;
  /** The graphs of pinned playbook versions (absent: every run's tasks are read). */
  graphs?: RunGraphs;
  /** Group commit (commit.ts); default a 5 ms window or 10 results. */
  commit?: CommitPolicy;
  /** The commit window's timer (tests move a clock of their own). */
  timer?: Timer;
  /** Durable timers (approval timeouts, long delays), cancelled when their run ends. */
  timers?: TimerStore;
  /** Durable waits (batch/waits.ts, with `timers`); without them approvals and long delays fail UNSUPPORTED. */
  waits?: BatchWaits;
  /** Containments: undo messages, expiry timers (lib/engine/undo.ts); without it undo messages fail. */
  undo?: UndoDeps;
}

export interface BatchResult {
  /** Messages to leave on the queue for a later attempt (reported as batchItemFailures). */
  failedMessageIds: string[];
}

/** Time kept back from the function's remaining time to write results before it is killed. */
const WRITE_RESERVE_MS = 3_000;
const DEFAULT_COMMIT: CommitPolicy = { windowMs: 5, maxResults: 10 };

/** Processes one batch of task messages; see the module comment for the stages. */
export async function executeBatch(
  deps: ExecuteBatchDeps,
  items: BatchItem[],
  remainingTimeMs: number,
): Promise<BatchResult> {
  // Undo and rollback messages (their expiry timers included) never claim a task: lib/engine/undo.ts handles them beside the rest.
  const split = splitUndoItems(items);
  if (split.undo.length > 0)
    return withUndos(deps, split, remainingTimeMs, (rest) => executeBatch(deps, rest, remainingTimeMs));
  // Wait timers' messages apply their effect on their own (batch/waits.ts), alongside the pipeline.
  const { timed, rest } = takeTimerMessages(items);
  const timers = handleTimerMessages(deps, timed);
  const { jobs, unparsable } = parseBatch(rest);
  if (jobs.length === 0) return { failedMessageIds: [...unparsable, ...(await timers)] };
  const token = deps.newToken();
  const start = deps.clock();
  const deadline = start + Math.max(1_000, remainingTimeMs - WRITE_RESERVE_MS);
  const leaseUntil = deadline + WRITE_RESERVE_MS + deps.leaseMarginMs;
  const loaded = await claimAndLoad(deps, jobs, token, leaseUntil, start);
  const batch = classifyBatch(jobs, loaded.tasks, loaded.execs, token, start);
  const idsOf = (t: { peid: string; task_id: string }) => batch.messageIds.get(taskKey(t.peid, t.task_id)) ?? [];

  const failed = new Set<string>();
  const ctx: GroupContext = {
    deps,
    views: loaded.views,
    token,
    deadline,
    next: (members) => committer.addNow(members),
  };
  const committer = createCommitter<Member>(
    deps.commit ?? DEFAULT_COMMIT,
    (group) => commitGroup(ctx, group),
    (group, err) => {
      // Left for redelivery, which finds what was written and drives the rest; this invocation decides nothing more for these runs.
      for (const m of group) for (const id of m.messageIds) failed.add(id);
      for (const m of group) {
        const view = loaded.views.get(memberRun(m));
        if (view) view.broken = true;
      }
      logger.error('a commit group failed; its messages are left for redelivery', { error: err as Error });
    },
    deps.timer,
  );

  // What needs no run commits at once: cancellations, redelivered finished tasks, resumed waits, re-sent retries.
  committer.addNow([
    ...batch.toCancel.map((task): Member => ({ kind: 'cancel', task, messageIds: idsOf(task) })),
    ...batch.refinished.map((task): Member => ({ kind: 'redrive', task, messageIds: idsOf(task) })),
    ...batch.toResume.map((task): Member => ({ kind: 'resume', task, messageIds: idsOf(task) })),
    ...batch.resend.map((message): Member => ({ kind: 'resend', message, messageIds: idsOf(message.message) })),
  ]);

  // Every claimed task runs at once; each commits as soon as it is done.
  const contexts = new Map<string, TemplateContext>();
  const contextFor = (peid: string) => {
    let c = contexts.get(peid);
    if (!c) {
      // A task runs only in a run that was read (classify.ts): its view is there.
      c = contextOf(loaded.views.get(peid) as RunView);
      contexts.set(peid, c);
    }
    return c;
  };
  committer.expect(batch.toRun.length);
  for (const task of batch.toRun) {
    const exec = loaded.execs.get(task.peid) as ExecutionRecord;
    void dispatchOne(deps, task, contextFor(task.peid), exec, deadline).then((d) =>
      committer.add(memberOf(d, idsOf(task))),
    );
  }
  await committer.idle();

  // A message of a sub-playbook run that has ended: its parent's wake-up may have been lost.
  await wakeParentsOfEnded(
    deps.queue,
    [...loaded.execs.values()].filter((e) => e.parent !== undefined),
  );
  return { failedMessageIds: [...unparsable, ...batch.later, ...failed, ...(await timers)] };
}

function memberOf(d: Dispatched, messageIds: string[]): Member {
  if (d.kind === 'ran') return { kind: 'ran', ran: d.ran, depth: 0, inline: false, messageIds };
  if (d.kind === 'expansion') return { kind: 'expansion', task: d.task, items: d.items, messageIds };
  if (d.kind === 'waiting') return { kind: 'waiting', task: d.task, lost: d.lost, messageIds };
  return { kind: 'wait', task: d.task, childPeid: d.childPeid, messageIds };
}
