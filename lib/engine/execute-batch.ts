/**
 * One SQS batch of task messages, in stages (lib/engine/batch/), with few round trips: one bulk
 * claim sent with one read of the runs involved (intake), the tasks run concurrently (classify,
 * dispatch), one unordered bulk write of all results (results), loops and sub-playbook waits
 * settled, failing runs ended (fatal), one fresh read (by key) of the tasks the fan-in decides on
 * (none when nothing finished has dependents), one bulk of atomic pending->queued|skipped claims,
 * SendMessageBatch for what became ready, and — alongside the fan-in — one update per run to
 * close finished tasks (the last one completes the run). Ready in-process tasks then run inline.
 * Every step is idempotent, so a redelivered message completes what a crashed invocation left
 * half done and never calls an integration twice for a finished task.
 */
import { logger, MetricUnit, metrics } from '../observability.js';
import { classifyBatch } from './batch/classify.js';
import { dispatch } from './batch/dispatch.js';
import { fanIn, type IdsByRun, idsByRun } from './batch/fan-in.js';
import { endFailedRuns, type Fatal } from './batch/fatal.js';
import { inlinable, runInline } from './batch/inline.js';
import { type BatchItem, claimAndLoad, parseBatch } from './batch/intake.js';
import { settleItems, startLoops } from './batch/loops.js';
import { planResults, resultWrite } from './batch/results.js';
import { recordWaits, resumeWaiting } from './batch/sub-playbook-waits.js';
import { afterContainments, splitUndoItems, withContainments, withUndos } from './batch/undo.js';
import { type BatchWaits, handleTimerMessages, takeTimerMessages } from './batch/waits.js';
import { type ExecutionRecord, isGraphTask, isLoopItem, type TaskRecord, taskKey } from './model.js';
import type { ChildRunDeps } from './ports/child-runs.js';
import type { IntegrationClient } from './ports/integrations.js';
import type { RunStore } from './ports/run-store.js';
import type { SecretResolver } from './ports/secrets.js';
import type { OutgoingTaskMessage, TaskQueue } from './ports/task-queue.js';
import type { TimerStore } from './ports/timers.js';
import { cancelLateWaits, closeAndComplete, wakeParentsOfEnded } from './run-lifecycle.js';
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

/** Processes one batch of task messages; see the module comment for the stages. */
export async function executeBatch(
  deps: ExecuteBatchDeps,
  items: BatchItem[],
  remainingTimeMs: number,
  inlineDepth = 0,
): Promise<BatchResult> {
  // Undo and rollback messages (their expiry timers included) never claim a task: lib/engine/undo.ts handles them beside the rest.
  const split = splitUndoItems(items);
  if (split.undo.length > 0) {
    return withUndos(deps, split, remainingTimeMs, (rest) => executeBatch(deps, rest, remainingTimeMs, inlineDepth));
  }
  // Wait timers' messages apply their effect on their own (batch/waits.ts), alongside the pipeline.
  const { timed, rest } = takeTimerMessages(items);
  const timers = handleTimerMessages(deps, timed);
  const { jobs, unparsable } = parseBatch(rest);
  if (jobs.length === 0) return { failedMessageIds: [...unparsable, ...(await timers)] };
  const token = deps.newToken();
  const start = deps.clock();
  const deadline = start + Math.max(1_000, remainingTimeMs - WRITE_RESERVE_MS);
  const leaseUntil = deadline + WRITE_RESERVE_MS + deps.leaseMarginMs;
  const loaded = await claimAndLoad(deps.runs, jobs, token, leaseUntil, start);
  const execs = new Map(loaded.executions.map((e) => [e.peid, e]));
  const tasks = new Map(loaded.tasks.map((t) => [taskKey(t.peid, t.task_id), t]));
  const batch = classifyBatch(jobs, tasks, execs, token, start);

  // Run every claimed task of the batch concurrently; loops expand, sub-playbook tasks start to wait.
  const ran = await dispatch(deps, batch.toRun, { execs, tasks: loaded.tasks }, deadline);
  await recordWaits(deps, ran.waits, token);
  const outgoing: OutgoingTaskMessage[] = [...batch.resend, ...(await startLoops(deps, ran.expansions, token))];
  // A run that ended meanwhile may have cancelled its open tasks before these started to wait.
  await cancelLateWaits(
    deps.runs,
    [...ran.waits, ...ran.expansions].map((w) => w.task).concat(ran.waiting),
    deps.clock(),
  );

  // One bulk write of every result (and of the cancellations of tasks whose run ended).
  const results = planResults(ran.ran, execs, deps);
  const contained = await withContainments(deps, results.writes, tasks, execs);
  await deps.runs.writeTaskResults(
    [...batch.toCancel.map((t) => resultWrite(t, 'cancelled', null, start)), ...contained.writes],
    token,
    deps.clock(),
  );
  outgoing.push(...results.retries);
  await afterContainments(deps, contained.containments, [...results.finished, ...batch.toCancel]);

  // Items that finished (now, or earlier and redelivered), then woken sub-playbook tasks.
  const refinished = new Set(batch.refinished.map((t) => taskKey(t.peid, t.task_id)));
  const fatal = new Map<string, Fatal>(results.fatal.map((f) => [f.run.peid, f]));
  const redelivered = loaded.tasks.filter((t) => isLoopItem(t) && refinished.has(taskKey(t.peid, t.task_id)));
  const loops = await settleItems(deps, [...results.itemsDone, ...redelivered], execs, (p) => fatal.has(p), token);
  const resumed = await resumeWaiting(deps, batch.toResume, execs);
  for (const f of [...loops.fatal, ...resumed.fatal]) fatal.set(f.run.peid, f);
  outgoing.push(...loops.messages, ...resumed.messages);

  // A failed task with on_failure=fail ends its run; nothing new starts in it.
  await endFailedRuns(deps, fatal);
  const open = (peid: string) => !fatal.has(peid) && execs.get(peid)?.execution_status === 'running';
  const finished = idsByRun([...results.finished, ...loops.done, ...resumed.done].filter((t) => open(t.peid)));
  const redriven = idsByRun(batch.refinished.filter((t) => isGraphTask(t) && open(t.peid)));

  // Fan-in: decide the dependents of every task that finished (or was redelivered finished).
  const inline = await fanInAndClose(deps, { execs, tasks, graph: loaded.tasks }, finished, redriven, outgoing, {
    token,
    inlineDepth,
    deadline,
  });
  // A message of a sub-playbook run that has ended: its parent's wake-up may have been lost.
  await wakeParentsOfEnded(
    deps.queue,
    [...execs.values()].filter((e) => e.parent !== undefined),
  );
  if (inline.length > 0) {
    const left = deadline - deps.clock() + WRITE_RESERVE_MS;
    await runInline(deps.queue, inline, left, (next, ms) => executeBatch(deps, next, ms, inlineDepth + 1));
  }
  return { failedMessageIds: [...unparsable, ...batch.later, ...(await timers)] };
}

/**
 * The fan-in, sending `outgoing` with what became ready, while the finished tasks close on their
 * runs: a closed task's undecided dependents are still open on the run, so it cannot complete
 * before they are decided; the tasks the fan-in skips close after. Returns the ready tasks to
 * run inline.
 */
async function fanInAndClose(
  deps: ExecuteBatchDeps,
  loaded: { execs: Map<string, ExecutionRecord>; tasks: Map<string, TaskRecord>; graph: TaskRecord[] },
  finished: IdsByRun,
  redriven: IdsByRun,
  outgoing: OutgoingTaskMessage[],
  at: { token: string; inlineDepth: number; deadline: number },
): Promise<OutgoingTaskMessage[]> {
  const runs = [...new Set([...finished.keys(), ...redriven.keys()])].map(
    (p) => loaded.execs.get(p) as ExecutionRecord,
  );
  const inline: OutgoingTaskMessage[] = [];
  let skipped: IdsByRun = new Map();
  const decide = async () => {
    const decided = await fanIn(deps, runs, loaded.graph, finished, redriven, at.token);
    for (const m of decided.queued) {
      const task = loaded.tasks.get(taskKey(m.message.peid, m.message.task_id));
      (inlinable(task, m, at.inlineDepth, at.deadline - deps.clock()) ? inline : outgoing).push(m);
    }
    outgoing.push(...decided.resend);
    skipped = decided.skipped;
    await deps.queue.send(outgoing);
  };
  const close = async (ids: IdsByRun) => {
    await Promise.all(
      [...ids].map(async ([peid, set]) => {
        const exec = loaded.execs.get(peid) as ExecutionRecord;
        const now = deps.clock();
        if (!(await closeAndComplete(deps, exec, [...set], now))) return;
        metrics.addMetric('RunsCompleted', MetricUnit.Count, 1);
        logger.info('run completed', { peid, tenant_code: exec.tenant_code, playbook_runtime: now - exec.createddate });
      }),
    );
  };
  await Promise.all([decide(), close(idsByRun(runs.flatMap((e) => closedOf(e.peid, finished, redriven))))]);
  await close(skipped);
  return inline;
}

/** The finished and redriven task ids of a run, as tasks. */
function closedOf(peid: string, finished: IdsByRun, redriven: IdsByRun): Array<{ peid: string; task_id: string }> {
  const ids = new Set([...(finished.get(peid) ?? []), ...(redriven.get(peid) ?? [])]);
  return [...ids].map((task_id) => ({ peid, task_id }));
}
