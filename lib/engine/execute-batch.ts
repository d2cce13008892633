/**
 * One SQS batch of task messages, with the round trips the seed asks for:
 * one bulk claim, one read of the runs involved, the tasks run concurrently,
 * one unordered bulk write of all results, one fresh read (by key) of the
 * tasks the fan-in decides on (none when nothing finished has dependents),
 * one bulk of atomic pending->queued|skipped claims, SendMessageBatch for
 * what became ready, and — alongside the fan-in — one update per run to
 * close finished tasks.
 * Every step is idempotent, so a redelivered message completes what a
 * crashed invocation left half done and never calls an integration twice
 * for a finished task.
 */

import { ExpressionError } from '../domain/expressions.js';
import { decideReadiness } from '../domain/graph.js';
import { hasAttemptsLeft, nextRetryDelayMs, toDelaySeconds } from '../domain/retry.js';
import { isTerminalTask, type TaskStatus } from '../domain/statuses.js';
import { renderTemplate } from '../domain/templates.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { expandForEach, itemContext, loopResult, planItems, successorOf } from './for-each.js';
import { mockedOutcome } from './mocks.js';
import { type ExecutionRecord, itemTaskId, type TaskMessage, type TaskRecord, taskKey } from './model.js';
import type {
  IntegrationClient,
  OutgoingTaskMessage,
  PendingTransition,
  RunRef,
  RunStore,
  SecretResolver,
  TaskQueue,
  TaskResultWrite,
  TaskState,
} from './ports.js';
import { cancelLateWaits, endRun, wakeParentsOfEnded } from './run-lifecycle.js';
import {
  buildContext,
  capOutput,
  runTask,
  type StoredOutput,
  storable,
  type TaskOutcome,
  type TemplateContext,
  taskFailure,
} from './run-task.js';
import { type ChildRunDeps, childOutcome, startChildRun } from './sub-playbooks.js';
import { initialDelaySeconds, parseTaskMessage, taskMessage } from './task-messages.js';
import { chargeItems } from './work-budget.js';

export interface BatchItem {
  messageId: string;
  body: string;
}

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
}

export interface BatchResult {
  /** Messages to leave on the queue for a later attempt (reported as batchItemFailures). */
  failedMessageIds: string[];
}

/** Time kept back from the function's remaining time to write results before it is killed. */
const WRITE_RESERVE_MS = 3_000;

interface Work {
  msg: TaskMessage;
  key: string;
  messageIds: string[];
}

type Disposition = 'run' | 'cancel' | 'redrive' | 'resend-retry' | 'resume' | 'later' | 'drop';

function classify(
  w: Work,
  task: TaskRecord | undefined,
  exec: ExecutionRecord | undefined,
  token: string,
  now: number,
): Disposition {
  if (!task || !exec) return 'drop';
  const a = w.msg.attempt;
  // Only the message of the attempt this batch claimed runs it: a stale copy of an earlier
  // attempt in the same batch shares the task record (and so the claim token) but must not run it again.
  if (task.status === 'running' && task.claim?.token === token && task.attempts === a)
    return exec.execution_status === 'running' ? 'run' : 'cancel';
  if (isTerminalTask(task.status)) return 'redrive';
  // A sub-playbook task waiting for its child run: the child finished (or a duplicate woke it).
  if (task.status === 'running' && task.claim === null && task.child_peid !== undefined && task.attempts === a) {
    return exec.execution_status === 'running' ? 'resume' : 'drop';
  }
  // The retry of this attempt was recorded but its message may not have been sent.
  if (task.status === 'queued' && task.attempts === a)
    return exec.execution_status === 'running' ? 'resend-retry' : 'drop';
  if (task.status === 'running' && task.attempts === a && (task.claim?.until ?? 0) >= now) return 'later';
  return 'drop';
}

/** Processes one batch of task messages; see the module comment for the round trips. */
export async function executeBatch(
  deps: ExecuteBatchDeps,
  items: BatchItem[],
  remainingTimeMs: number,
  inlineDepth = 0,
): Promise<BatchResult> {
  const failed: string[] = [];
  const work = new Map<string, Work>();
  for (const item of items) {
    const msg = parseTaskMessage(item.body);
    if (!msg) {
      // Never processable: let it reach the DLQ through maxReceiveCount.
      logger.error('unparsable task message', { messageId: item.messageId });
      failed.push(item.messageId);
      continue;
    }
    const key = `${taskKey(msg.peid, msg.task_id)}#${msg.attempt}`;
    const existing = work.get(key);
    if (existing) existing.messageIds.push(item.messageId);
    else work.set(key, { msg, key: taskKey(msg.peid, msg.task_id), messageIds: [item.messageId] });
  }
  if (work.size === 0) return { failedMessageIds: failed };

  const token = deps.newToken();
  const start = deps.clock();
  const deadline = start + Math.max(1_000, remainingTimeMs - WRITE_RESERVE_MS);
  const jobs = [...work.values()];
  const leaseUntil = deadline + WRITE_RESERVE_MS + deps.leaseMarginMs;
  const claims = jobs.map((w) => w.msg);
  const refs = uniqueRefs(claims);
  // for_each items are read by id; a run's graph tasks are read whole.
  const itemKeys = jobs.filter((w) => isItemId(w.msg.task_id)).map((w) => w.key);
  // The runs are read while the claim is applied: when every claim matched (the usual first
  // delivery), the claimed tasks are exactly what the claim wrote; otherwise (duplicates,
  // redeliveries, takeovers) they are read again after it, to see who holds what.
  const [matched, early] = await Promise.all([
    deps.runs.claimTasks(claims, token, leaseUntil, start),
    deps.runs.loadRuns(refs, itemKeys),
  ]);
  const readKeys = new Set(early.tasks.map((t) => taskKey(t.peid, t.task_id)));
  const settled =
    matched === claims.length &&
    new Set(jobs.map((w) => w.key)).size === jobs.length &&
    jobs.every((w) => readKeys.has(w.key));
  const loaded = settled ? withClaims(early, jobs, token, leaseUntil, start) : await deps.runs.loadRuns(refs, itemKeys);
  const execs = new Map(loaded.executions.map((e) => [e.peid, e]));
  const tasks = new Map(loaded.tasks.map((t) => [taskKey(t.peid, t.task_id), t]));

  const toRun: Array<{ w: Work; task: TaskRecord }> = [];
  const toResume: TaskRecord[] = [];
  const writes: TaskResultWrite[] = [];
  const outgoing: OutgoingTaskMessage[] = [];
  const redrive = new Map<string, Set<string>>();
  for (const w of jobs) {
    const task = tasks.get(w.key);
    const disposition = classify(w, task, execs.get(w.msg.peid), token, start);
    if (!task) continue;
    switch (disposition) {
      case 'run':
        toRun.push({ w, task });
        break;
      case 'cancel':
        writes.push(resultWrite(task, 'cancelled', null, start));
        break;
      case 'redrive':
        addTo(redrive, task.peid, task.task_id);
        break;
      case 'resend-retry':
        outgoing.push(taskMessage(task, task.attempts + 1, 0));
        break;
      case 'resume':
        toResume.push(task);
        break;
      case 'later':
        failed.push(...w.messageIds);
        break;
      case 'drop':
        break;
    }
  }

  // Run every claimed task of the batch concurrently.
  const contexts = new Map<string, TemplateContext>();
  const contextOf = (peid: string): TemplateContext => {
    let ctx = contexts.get(peid);
    if (!ctx) {
      const exec = execs.get(peid) as ExecutionRecord;
      ctx = buildContext(
        exec,
        loaded.tasks.filter((t) => t.peid === peid && t.item_of === undefined),
      );
      contexts.set(peid, ctx);
    }
    return ctx;
  };
  const expansions: Array<{ task: TaskRecord; items: unknown[] }> = [];
  const waiting: Array<{ task: TaskRecord; childPeid: string }> = [];
  // One task's exception is that task's failure, never the batch's (a failed batch is redelivered
  // whole: every other tenant's integration would be called again).
  const outcomes = (
    await Promise.allSettled(
      toRun.map(async ({ task }) => {
        const began = deps.clock();
        const ctx = contextOf(task.peid);
        // A test run's mocked task makes no call, starts no child run and expands no loop.
        if (task.mock !== undefined)
          return { task, outcome: await mockedOutcome(task, ctx, deadline), began, ended: deps.clock() };
        if (task.def.for_each !== undefined && task.item_of === undefined) {
          const expansion = await expandForEach(task, ctx, deadline);
          if (expansion.kind === 'items') {
            // Charged to the run's work budget before a single item is written.
            const refused = await chargeItems(deps, execs.get(task.peid) as ExecutionRecord, expansion.items.length);
            if (refused) return { task, outcome: refused, began, ended: deps.clock() };
            expansions.push({ task, items: expansion.items });
            return undefined;
          }
          return { task, outcome: expansion.outcome, began, ended: deps.clock() };
        }
        if (task.def.type === 'playbook') {
          const started = await startChild(deps, task, execs.get(task.peid) as ExecutionRecord, ctx, deadline, began);
          if ('peid' in started) {
            waiting.push({ task, childPeid: started.peid });
            return undefined;
          }
          return { task, outcome: started, began, ended: deps.clock() };
        }
        const outcome = await runTask(
          task,
          task.item_of === undefined ? ctx : itemContext(ctx, task),
          deps.integrations,
          deadline,
          deps.secrets,
        );
        return { task, outcome, began, ended: deps.clock() };
      }),
    )
  )
    .map((r, i) => (r.status === 'fulfilled' ? r.value : threw(deps, toRun[i]?.task as TaskRecord, r.reason, start)))
    .filter((o) => o !== undefined);

  // Sub-playbook tasks whose child run started: they wait (claim released) until it finishes.
  for (const { task, childPeid } of waiting) {
    await deps.runs.markWaiting(
      { tenant_code: task.tenant_code, peid: task.peid },
      task.task_id,
      childPeid,
      token,
      deps.clock(),
    );
  }

  // Expanded loops: write their items, hand the loop's claim over to them, queue the first window.
  for (const { task, items } of expansions) {
    const now = deps.clock();
    const plan = planItems(task, items, now);
    await deps.runs.insertItems(plan.docs);
    await deps.runs.markExpanded(
      { tenant_code: task.tenant_code, peid: task.peid },
      task.task_id,
      items.length,
      token,
      now,
    );
    for (const index of plan.queued) {
      outgoing.push(
        taskMessage({ ...task, task_id: itemTaskId(task.task_id, index) }, 1, initialDelaySeconds(task.def)),
      );
    }
    logger.info('loop expanded', {
      peid: task.peid,
      tenant_code: task.tenant_code,
      task_id: task.task_id,
      items: items.length,
    });
  }

  // A run that ended meanwhile may have cancelled its open tasks before these started to wait.
  await cancelLateWaits(
    deps.runs,
    [...waiting, ...expansions].map((w) => w.task),
    deps.clock(),
  );

  const finished = new Map<string, Set<string>>();
  const itemsDone: TaskRecord[] = [];
  const fatal = new Map<
    string,
    { ref: RunRef; createddate: number; error: { code: string; message: string }; loop?: string }
  >();
  for (const done of outcomes) {
    const { task, began, ended } = done;
    // The result is built (serialized) here, per task: one that cannot be stored fails alone.
    const { outcome, stored } = storable(done.outcome, deps.outputMaxBytes);
    const attempt = task.attempts;
    const retry = outcome.status === 'failed' && outcome.retryable && hasAttemptsLeft(task.def.retry, attempt);
    recordMetrics(task, outcome, retry, ended - began);
    if (retry) {
      const delay = toDelaySeconds(nextRetryDelayMs(task.def.retry, attempt, deps.random));
      writes.push({ ...resultWrite(task, 'queued', outcome, ended), finished_at: null, duration_ms: ended - began });
      outgoing.push(taskMessage(task, attempt + 1, delay));
      continue;
    }
    writes.push({ ...resultWrite(task, outcome.status, outcome, ended, stored), duration_ms: ended - began });
    if (task.item_of === undefined) addTo(finished, task.peid, task.task_id);
    else itemsDone.push(task);
    if (outcome.status === 'failed' && task.def.on_failure === 'fail') {
      const exec = execs.get(task.peid) as ExecutionRecord;
      fatal.set(task.peid, {
        ref: { tenant_code: task.tenant_code, peid: task.peid },
        createddate: exec.createddate,
        error: {
          code: 'TASK_FAILED',
          message: `task '${task.task_id}' failed: ${outcome.error?.message ?? 'unknown error'}`,
        },
        ...(task.item_of !== undefined ? { loop: task.item_of } : {}),
      });
    }
  }
  await deps.runs.writeTaskResults(writes, token, deps.clock());

  // Items that finished (now, or earlier and redelivered): hand over their window slot,
  // close them on their loop, and finish the loop when its last item is done.
  for (const t of loaded.tasks) {
    if (t.item_of !== undefined && redrive.get(t.peid)?.has(t.task_id)) itemsDone.push(t);
  }
  for (const peid of redrive.keys()) {
    const ids = redrive.get(peid);
    for (const id of [...(ids ?? [])]) if (isItemId(id)) ids?.delete(id);
  }
  const loopsDone = await settleItems(deps, itemsDone, execs, fatal, outgoing, token);
  for (const loop of loopsDone) addTo(finished, loop.peid, loop.task_id);
  for (const task of await resumeWaiting(deps, toResume, execs, fatal, outgoing))
    addTo(finished, task.peid, task.task_id);

  // A failed task with on_failure=fail ends its run; nothing new starts in it.
  for (const f of fatal.values()) {
    const now = deps.clock();
    if (f.loop !== undefined) {
      // The loop fails with its item; its other items are cancelled with the run.
      await deps.runs.finishLoop(
        f.ref,
        f.loop,
        { status: 'failed', output_json: null, truncated: false, error: f.error, finished_at: now, duration_ms: null },
        now,
        true,
      );
    }
    // Cancels what had not started and its sub-playbook runs, and wakes its parent (run-lifecycle.ts).
    const run = { ...f.ref, createddate: f.createddate, parent: execs.get(f.ref.peid)?.parent };
    if (await endRun(deps, run, 'failed', now, f.error))
      logger.info('run failed', { peid: f.ref.peid, tenant_code: f.ref.tenant_code, error: f.error.code });
    finished.delete(f.ref.peid);
    redrive.delete(f.ref.peid);
  }

  // Fan-in: decide the dependents of every task that finished (or was redelivered finished).
  const fanRuns = [...new Set([...finished.keys(), ...redrive.keys()])]
    .map((peid) => execs.get(peid))
    .filter((e): e is ExecutionRecord => e !== undefined && e.execution_status === 'running');
  const closed = new Map<string, Set<string>>();
  for (const [peid, ids] of finished) for (const id of ids) addTo(closed, peid, id);
  for (const [peid, ids] of redrive) for (const id of ids) addTo(closed, peid, id);
  const closable = (peid: string) => !fatal.has(peid) && execs.get(peid)?.execution_status === 'running';
  // Close finished tasks on their runs; the last one completes the run, exactly once.
  const close = async (peid: string, ids: Set<string>) => {
    const exec = execs.get(peid) as ExecutionRecord;
    const ref = { tenant_code: exec.tenant_code, peid };
    const now = deps.clock();
    const after = await deps.runs.closeTasks(ref, [...ids], now);
    if (after && after.execution_status === 'running' && after.open_tasks.length === 0) {
      if (await endRun(deps, exec, 'completed', now)) {
        metrics.addMetric('RunsCompleted', MetricUnit.Count, 1);
        logger.info('run completed', { peid, tenant_code: exec.tenant_code, playbook_runtime: now - exec.createddate });
      }
    }
  };
  const skippedNow = new Map<string, Set<string>>();
  // Ready in-process tasks (a join's transform, a noop) run in this invocation instead of a queue hop.
  const inline: OutgoingTaskMessage[] = [];
  const fanIn = async () => {
    // Only the tasks the decisions read, by key; none when nothing finished has dependents.
    const wanted = fanInKeys(fanRuns, loaded.tasks, finished, redrive);
    if (wanted.length > 0) {
      const states = await deps.runs.taskStates(wanted);
      const plan = planFanIn(fanRuns, states, finished, redrive, deps.clock());
      const won = await deps.runs.transitionPending(plan.transitions, token, deps.clock());
      for (const t of plan.transitions) {
        const key = taskKey(t.peid, t.task_id);
        if (!won.has(key)) continue;
        if (t.to !== 'queued') {
          addTo(skippedNow, t.peid, t.task_id);
          continue;
        }
        const message = taskMessage(t, 1, plan.delayOf.get(key) ?? 0);
        (inlinable(tasks.get(key), message, inlineDepth, deadline - deps.clock()) ? inline : outgoing).push(message);
      }
      outgoing.push(...plan.resend);
    }
    await deps.queue.send(outgoing);
  };
  // The close runs alongside the fan-in: a closed task's undecided dependents are still open on
  // the run, so it cannot complete before they are decided; the tasks the fan-in skips close after.
  await Promise.all([
    fanIn(),
    ...[...closed].filter(([peid]) => closable(peid)).map(([peid, ids]) => close(peid, ids)),
  ]);
  await Promise.all([...skippedNow].filter(([peid]) => closable(peid)).map(([peid, ids]) => close(peid, ids)));
  // A message of a sub-playbook run that has ended: its parent's wake-up may have been lost.
  await wakeParentsOfEnded(
    deps.queue,
    [...execs.values()].filter((e) => e.parent !== undefined),
  );
  if (inline.length > 0) await runInline(deps, inline, deadline - deps.clock() + WRITE_RESERVE_MS, inlineDepth);
  return { failedMessageIds: failed };
}

/** How many in-process tasks in a row one invocation runs without a queue hop. */
const MAX_INLINE_DEPTH = 4;
/** The remaining time an inline batch gets (its lease: this plus the lease margin); transforms are bounded far below it. */
const INLINE_BUDGET_MS = 10_000;
/** Inline only while the batch has this much time before its deadline. */
const INLINE_MIN_LEFT_MS = 5_000;

/** A ready task this invocation can run itself: pure, in-process, not a loop, not delayed, with time left. */
function inlinable(task: TaskRecord | undefined, message: OutgoingTaskMessage, depth: number, leftMs: number): boolean {
  if (!task || depth >= MAX_INLINE_DEPTH || message.delaySeconds > 0 || leftMs < INLINE_MIN_LEFT_MS) return false;
  return (task.def.type === 'transform' || task.def.type === 'noop') && task.def.for_each === undefined;
}

/**
 * Runs ready in-process tasks as a batch of their own in this invocation: the same claim (with
 * a lease of INLINE_BUDGET_MS + margin), result write, fan-in and close as a delivered message,
 * so nothing else changes. Their messages are not sent; if this invocation dies meanwhile, the
 * batch's own messages are redelivered and their fan-in re-sends a dependent left queued, or
 * running on an expired lease (planFanIn), and the reaper covers the rest. A task the inline
 * batch could not take (or an error) falls back to its message.
 */
async function runInline(
  deps: ExecuteBatchDeps,
  messages: OutgoingTaskMessage[],
  remainingMs: number,
  depth: number,
): Promise<void> {
  metrics.addMetric('TasksInlined', MetricUnit.Count, messages.length);
  const items = messages.map((m, i) => ({ messageId: `inline-${i}`, body: JSON.stringify(m.message) }));
  try {
    const result = await executeBatch(deps, items, Math.min(remainingMs, INLINE_BUDGET_MS), depth + 1);
    const back = new Set(result.failedMessageIds);
    await deps.queue.send(messages.filter((_, i) => back.has(`inline-${i}`)));
  } catch (err) {
    logger.warn('inline tasks failed, queueing them', {
      tasks: messages.map((m) => `${m.message.peid}/${m.message.task_id}`),
      error: err instanceof Error ? err.message : String(err),
    });
    await deps.queue.send(messages);
  }
}

/** The outcome of a task whose run threw: failed with TASK_ERROR, retried by its own policy. */
function threw(deps: ExecuteBatchDeps, task: TaskRecord, err: unknown, began: number) {
  logger.error('task threw', {
    peid: task.peid,
    tenant_code: task.tenant_code,
    task_id: task.task_id,
    error: err as Error,
  });
  return { task, outcome: taskFailure('TASK_ERROR', err, true), began, ended: deps.clock() };
}

/** `loaded` as a read after the claim would return it: every job's task running under `token`. */
function withClaims(
  loaded: { executions: ExecutionRecord[]; tasks: TaskRecord[] },
  jobs: Work[],
  token: string,
  until: number,
  now: number,
): { executions: ExecutionRecord[]; tasks: TaskRecord[] } {
  const attempts = new Map(jobs.map((w) => [w.key, w.msg.attempt]));
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

function addTo(m: Map<string, Set<string>>, peid: string, id: string): void {
  const s = m.get(peid) ?? new Set<string>();
  s.add(id);
  m.set(peid, s);
}

function resultWrite(
  task: TaskRecord,
  status: TaskResultWrite['status'],
  outcome: TaskOutcome | null,
  now: number,
  capped: StoredOutput | null = null,
): TaskResultWrite {
  return {
    tenant_code: task.tenant_code,
    peid: task.peid,
    task_id: task.task_id,
    status,
    output_json: capped?.output_json ?? null,
    truncated: capped?.truncated ?? false,
    error: outcome?.error ?? null,
    finished_at: now,
    duration_ms: null,
    ...(outcome?.mocked ? { mocked: true as const } : {}),
  };
}

function recordMetrics(task: TaskRecord, outcome: TaskOutcome, retry: boolean, durationMs: number): void {
  const name = retry ? 'TasksRetried' : `Tasks${outcome.status[0]?.toUpperCase()}${outcome.status.slice(1)}`;
  metrics.addMetric(name, MetricUnit.Count, 1);
  metrics.addMetric('TaskDuration', MetricUnit.Milliseconds, durationMs);
  logger.info('task finished', {
    peid: task.peid,
    tenant_code: task.tenant_code,
    task_id: task.task_id,
    attempt: task.attempts,
    status: retry ? 'retry' : outcome.status,
    error: outcome.error?.code,
    duration_ms: durationMs,
  });
}

interface FanInPlan {
  transitions: PendingTransition[];
  delayOf: Map<string, number>;
  resend: OutgoingTaskMessage[];
}

/**
 * Decides, from a fresh read of the runs, which dependents of the finished
 * tasks become queued or skipped; skips cascade in memory. For tasks that were
 * redelivered already finished, dependents left queued but never started are
 * sent again (a crash may have happened between their claim and their send).
 */
export function planFanIn(
  runs: ExecutionRecord[],
  states: TaskState[],
  finished: Map<string, Set<string>>,
  redrive: Map<string, Set<string>>,
  now = Number.POSITIVE_INFINITY,
): FanInPlan {
  const plan: FanInPlan = { transitions: [], delayOf: new Map(), resend: [] };
  const byKey = new Map<string, TaskState & { status: TaskStatus }>();
  for (const s of states) byKey.set(taskKey(s.peid, s.task_id), { ...s });
  for (const exec of runs) {
    const peid = exec.peid;
    const get = (id: string) => byKey.get(taskKey(peid, id));
    const stack = [...(finished.get(peid) ?? []), ...(redrive.get(peid) ?? [])];
    const redriven = redrive.get(peid) ?? new Set<string>();
    const resent = new Set<string>();
    while (stack.length > 0) {
      const id = stack.pop() as string;
      const parent = get(id);
      if (!parent) continue;
      for (const depId of parent.dependents) {
        const dep = get(depId);
        if (!dep) continue;
        if (dep.status === 'pending') {
          const outcomes: Record<string, { status: TaskStatus; on_failure: 'fail' | 'continue' }> = {};
          for (const d of dep.def.depends_on) {
            const s = get(d);
            if (s) outcomes[d] = { status: s.status, on_failure: s.def.on_failure };
          }
          const decision = decideReadiness(dep.def, outcomes);
          if (decision === 'wait') continue;
          const to = decision === 'run' ? 'queued' : 'skipped';
          dep.status = to;
          plan.transitions.push({ tenant_code: exec.tenant_code, peid, task_id: depId, to });
          if (to === 'queued') plan.delayOf.set(taskKey(peid, depId), initialDelaySeconds(dep.def));
          else stack.push(depId);
        } else if (dep.status === 'queued' && dep.attempts === 0 && redriven.has(id) && !resent.has(depId)) {
          resent.add(depId);
          plan.resend.push(
            taskMessage({ tenant_code: exec.tenant_code, peid, task_id: depId }, 1, initialDelaySeconds(dep.def)),
          );
        } else if (
          dep.status === 'running' &&
          dep.claim !== null &&
          dep.claim !== undefined &&
          dep.claim.until < now &&
          redriven.has(id) &&
          !resent.has(depId)
        ) {
          // Claimed by an invocation that died (an inline task has no message of its own): its attempt again.
          resent.add(depId);
          plan.resend.push(taskMessage({ tenant_code: exec.tenant_code, peid, task_id: depId }, dep.attempts, 0));
        }
      }
    }
  }
  return plan;
}

/**
 * The graph tasks planFanIn reads for `runs`: the finished (and redriven) tasks, their
 * dependents and every dependency of those, down the graph (skips cascade). Empty for
 * a run none of whose finished tasks has dependents: then there is nothing to decide.
 */
export function fanInKeys(
  runs: ExecutionRecord[],
  graph: TaskRecord[],
  finished: Map<string, Set<string>>,
  redrive: Map<string, Set<string>>,
): Array<RunRef & { task_id: string }> {
  const byKey = new Map<string, TaskRecord>();
  for (const t of graph) if (t.item_of === undefined) byKey.set(taskKey(t.peid, t.task_id), t);
  const out: Array<RunRef & { task_id: string }> = [];
  for (const exec of runs) {
    const peid = exec.peid;
    const want = new Set<string>();
    const seen = new Set<string>();
    const stack = [...(finished.get(peid) ?? []), ...(redrive.get(peid) ?? [])];
    let decisions = false;
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      want.add(id);
      for (const depId of byKey.get(taskKey(peid, id))?.dependents ?? []) {
        decisions = true;
        want.add(depId);
        for (const d of byKey.get(taskKey(peid, depId))?.def.depends_on ?? []) want.add(d);
        stack.push(depId);
      }
    }
    if (decisions) for (const task_id of want) out.push({ tenant_code: exec.tenant_code, peid, task_id });
  }
  return out;
}

/** True for the task id of a for_each item (`loop[3]`); playbook task ids cannot contain brackets. */
function isItemId(taskId: string): boolean {
  return taskId.endsWith(']');
}

/**
 * Bookkeeping of finished items, idempotent under redelivery: each item queues its
 * window successor (atomic pending->queued), leaves its loop's open set, and the
 * call that empties the set finishes the loop. Returns the loops finished here.
 */
async function settleItems(
  deps: ExecuteBatchDeps,
  items: TaskRecord[],
  execs: Map<string, ExecutionRecord>,
  fatal: Map<string, unknown>,
  outgoing: OutgoingTaskMessage[],
  token: string,
): Promise<TaskRecord[]> {
  const byLoop = new Map<string, TaskRecord[]>();
  for (const item of items) {
    if (fatal.has(item.peid) || execs.get(item.peid)?.execution_status !== 'running') continue;
    const key = taskKey(item.peid, item.item_of ?? '');
    byLoop.set(key, [...(byLoop.get(key) ?? []), item]);
  }
  const done: TaskRecord[] = [];
  for (const group of byLoop.values()) {
    const first = group[0] as TaskRecord;
    const ref = { tenant_code: first.tenant_code, peid: first.peid };
    const loopId = first.item_of ?? '';
    const now = deps.clock();
    const loop = await deps.runs.closeItems(
      ref,
      loopId,
      group.map((i) => i.item_index ?? 0),
      now,
    );
    if (!loop) continue;
    const successors: PendingTransition[] = [];
    for (const item of group) {
      const next = successorOf(item);
      if (next !== undefined) successors.push({ ...ref, task_id: itemTaskId(loopId, next), to: 'queued' });
    }
    const won = await deps.runs.transitionPending(successors, token, now);
    for (const t of successors) {
      if (won.has(taskKey(t.peid, t.task_id))) outgoing.push(taskMessage(t, 1, initialDelaySeconds(first.def)));
    }
    if (loop.status === 'running' && loop.claim === null && (loop.open_items ?? []).length === 0) {
      const result = loopResult(await deps.runs.loadItems(ref, loopId), deps.outputMaxBytes, now, loop.started_at);
      if (await deps.runs.finishLoop(ref, loopId, result, now)) {
        done.push({ ...loop, status: result.status });
        if (result.status === 'failed' && loop.def.on_failure === 'fail') {
          const exec = execs.get(loop.peid) as ExecutionRecord;
          fatal.set(loop.peid, {
            ref,
            createddate: exec.createddate,
            error: { code: 'TASK_FAILED', message: `task '${loopId}' failed: ${result.error?.message ?? ''}` },
          });
        }
      }
    }
  }
  return done;
}

/** Renders a `playbook` task's config and starts (or finds) its child run. */
async function startChild(
  deps: ExecuteBatchDeps,
  task: TaskRecord,
  exec: ExecutionRecord,
  ctx: TemplateContext,
  deadline: number,
  now: number,
): Promise<{ peid: string } | TaskOutcome> {
  if (task.def.type !== 'playbook' || !deps.children) {
    return {
      status: 'failed',
      output: null,
      error: { code: 'UNSUPPORTED', message: 'sub-playbooks are not enabled' },
      retryable: false,
    };
  }
  let rendered: { alert_id?: unknown; alert?: unknown };
  try {
    rendered = (await renderTemplate({ alert_id: task.def.config.alert_id, alert: task.def.config.alert }, ctx, {
      deadline,
    })) as typeof rendered;
  } catch (err) {
    if (err instanceof ExpressionError)
      return { status: 'failed', output: null, error: { code: err.code, message: err.message }, retryable: false };
    throw err;
  }
  const alert = rendered.alert ?? ctx.alert;
  if (typeof alert !== 'object' || alert === null || Array.isArray(alert)) {
    return {
      status: 'failed',
      output: null,
      error: { code: 'INVALID_ALERT', message: 'the sub-playbook alert must render to an object' },
      retryable: false,
    };
  }
  const alertId =
    rendered.alert_id === undefined || rendered.alert_id === null ? exec.alert_id : String(rendered.alert_id);
  return startChildRun(
    deps.children,
    task,
    exec,
    { name: task.def.config.name, alert_id: alertId.slice(0, 256), alert: alert as Record<string, unknown> },
    now,
  );
}

/**
 * Sub-playbook tasks woken by their child run: the child's outcome becomes the
 * task's result (retried per the task's policy with a new child run). Returns
 * the tasks finished here.
 */
async function resumeWaiting(
  deps: ExecuteBatchDeps,
  tasks: TaskRecord[],
  execs: Map<string, ExecutionRecord>,
  fatal: Map<string, { ref: RunRef; createddate: number; error: { code: string; message: string } }>,
  outgoing: OutgoingTaskMessage[],
): Promise<TaskRecord[]> {
  const done: TaskRecord[] = [];
  for (const task of tasks) {
    const outcome = await childOutcome(deps.runs, task);
    if (!outcome) continue;
    const ref = { tenant_code: task.tenant_code, peid: task.peid };
    const now = deps.clock();
    const duration = task.started_at === null ? null : now - task.started_at;
    const retry = outcome.status === 'failed' && outcome.retryable && hasAttemptsLeft(task.def.retry, task.attempts);
    if (retry) {
      const written = await deps.runs.finishLoop(
        ref,
        task.task_id,
        {
          status: 'queued',
          output_json: null,
          truncated: false,
          error: outcome.error,
          finished_at: null,
          duration_ms: duration,
        },
        now,
        true,
      );
      if (written)
        outgoing.push(
          taskMessage(
            task,
            task.attempts + 1,
            toDelaySeconds(nextRetryDelayMs(task.def.retry, task.attempts, deps.random)),
          ),
        );
      continue;
    }
    const capped = capOutput(outcome.output, deps.outputMaxBytes);
    const won = await deps.runs.finishLoop(
      ref,
      task.task_id,
      { status: outcome.status, ...capped, error: outcome.error, finished_at: now, duration_ms: duration },
      now,
      true,
    );
    if (!won) continue;
    recordMetrics(task, outcome, false, duration ?? 0);
    done.push(task);
    if (outcome.status === 'failed' && task.def.on_failure === 'fail') {
      fatal.set(task.peid, {
        ref,
        createddate: (execs.get(task.peid) as ExecutionRecord).createddate,
        error: { code: 'TASK_FAILED', message: `task '${task.task_id}' failed: ${outcome.error?.message ?? ''}` },
      });
    }
  }
  return done;
}
