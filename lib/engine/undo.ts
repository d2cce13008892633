/**
 * Running undos in the consumer (docs/containment.md). An undo is a task message of its own kind
 * (`undo: n`: attempt n of the undo of the task's success in run attempt `attempt`), sent by a
 * rollback (rollback.ts, in reverse dependency order), by its expiry timer, or by its own retry.
 * No worker waits for anything: a message that cannot act now changes nothing, and what it waits
 * for sends it again.
 *
 *   1. The run and its tasks (with outputs: the undo's templates see the run's context, the task's
 *      own output included) are read.
 *   2. The undo is claimed by one conditional transition of the task's undo state: `active ->
 *      undoing` (attempt 1), a recorded retry (attempt n), or a take-over of a holder whose lease
 *      ran out. A rollback and an expiry, or duplicated deliveries, arriving at once claim it once.
 *      While the run is being rolled back, a task's undo waits for those of its dependents.
 *   3. The undo request is sent with an http task's guards (the integration client's SSRF guard,
 *      byte caps, timeout) and secrets substituted directly, redacted from what is kept.
 *   4. The outcome is recorded by the holder: `undone`; a retry per the task's `retry` policy
 *      (state `undoing`, its next message delayed by the policy's backoff); or `undo_failed`
 *      (logged, the UndosFailed metric).
 *   5. While the run is being rolled back, the undos this one was holding back are sent; a timer's
 *      message completes its timer.
 *
 * A worker that dies mid-request leaves its claim to expire: the message comes back and takes the
 * attempt over, so an undo request may be sent again only after a crash (as any task's).
 */
import { undoOf } from '../domain/playbook-schema.js';
import { hasAttemptsLeft, nextRetryDelayMs, toDelaySeconds } from '../domain/retry.js';
import { isTerminalTask } from '../domain/statuses.js';
import { ancestors } from '../domain/undo.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import type { ExecutionRecord, TaskMessage, TaskRecord } from './model.js';
import type { IntegrationClient } from './ports/integrations.js';
import type { RunRecords } from './ports/run-records.js';
import type { SecretResolver } from './ports/secrets.js';
import type { UndoOutcome, UndoStore, UndoTaskRef } from './ports/undo.js';
import { driveRollback, readyMessages, rollingBack, undoNodes } from './rollback.js';
import { buildContext, runTask, type TaskOutcome } from './run-task.js';
import { completeTimer, type TimerDeps } from './timers.js';

export interface UndoDeps extends TimerDeps {
  runs: Pick<RunRecords, 'getExecution' | 'listGraphTasks'>;
  undos: UndoStore;
  integrations: IntegrationClient;
  secrets?: SecretResolver;
  random: () => number;
  /** Added to the deadline for an undo claim's lease (as for a task's). */
  leaseMarginMs: number;
}

/** applied: this message ran an undo attempt; moot: nothing to do; early: its task's success is not recorded yet. */
export type UndoMessageOutcome = 'applied' | 'moot' | 'early';

/** A message of a containment: an undo, or a rollback's start. */
export function isUndoMessage(m: TaskMessage): boolean {
  return m.undo !== undefined || m.rollback === true || m.timer === 'undo' || m.timer === 'rollback';
}

/** Handles one undo or rollback message; throws when it must come back (a store or the queue failed). */
export async function handleUndoMessage(
  deps: UndoDeps,
  msg: TaskMessage,
  deadline: number,
  leaseUntil: number,
): Promise<UndoMessageOutcome> {
  if (msg.rollback === true || msg.timer === 'rollback') {
    await driveRollback(deps, msg);
    await completeTimer(deps.timers, msg, deps.clock());
    return 'moot';
  }
  const outcome = await undoOnce(deps, msg, deadline, leaseUntil);
  if (outcome !== 'early') await completeTimer(deps.timers, msg, deps.clock());
  return outcome;
}

async function undoOnce(
  deps: UndoDeps,
  msg: TaskMessage,
  deadline: number,
  leaseUntil: number,
): Promise<UndoMessageOutcome> {
  const run = { tenant_code: msg.tenant_code, peid: msg.peid };
  const [exec, graph] = await Promise.all([
    deps.runs.getExecution(run),
    deps.runs.listGraphTasks(run, { outputs: true }),
  ]);
  const task = graph.find((t) => t.task_id === msg.task_id);
  if (!exec || !task) return 'moot';
  const u = task.undo;
  const n = msg.undo ?? 1;
  if (!u) {
    // Its success is not recorded yet (a timer armed just before the result's write): not due yet.
    if (!isTerminalTask(task.status) && undoOf(task.def) !== undefined) return 'early';
    return settled(deps, task);
  }
  if (u.gen !== msg.attempt) return 'moot'; // a message of another success of the task
  if (u.state === 'undone' || u.state === 'undo_failed') return settled(deps, task);
  const now = deps.clock();
  if (u.state === 'active') {
    if (n !== 1) return 'moot';
    // An expiry's message before its time (a clock behind, an expiry moved): left armed, sent again after its grace.
    if (msg.timer === 'undo' && u.undo_at !== null && u.undo_at > now) return 'early';
    // A rollback undoes in reverse dependency order: the undos of its dependents send this one.
    if (rollingBack(exec) && readyMessages(graph).every((m) => m.message.task_id !== task.task_id)) return 'moot';
  } else {
    const retry = u.attempts === n - 1 && u.claim === null;
    const takeOver = u.attempts === n && u.claim !== null && u.claim.until < now;
    // Held by a live worker (whose message finishes it), or a stale copy of an earlier attempt.
    if (!retry && !takeOver) return 'moot';
  }
  const ref: UndoTaskRef = { ...run, task_id: task.task_id };
  const token = deps.newToken();
  const by = msg.timer === 'undo' ? 'expiry' : (u.by ?? 'rollback');
  if (!(await deps.undos.claimUndo(ref, { gen: u.gen, attempt: n, token, leaseUntil, by }, now))) return 'moot';
  const result = await runUndo(deps, exec, graph, task, n, deadline);
  if (!(await deps.undos.recordUndo(ref, token, result.outcome, deps.clock()))) {
    logger.warn('undo attempt outlived its claim; its result was not recorded', {
      peid: run.peid,
      task_id: ref.task_id,
    });
    return 'applied';
  }
  if (result.retry) await deps.queue.send([result.retry]);
  if (result.outcome.state !== 'undoing') await settledNow(deps, task);
  return 'applied';
}

interface UndoRun {
  outcome: UndoOutcome;
  /** The next attempt's message, when this one failed with attempts left. */
  retry?: { message: TaskMessage; delaySeconds: number };
}

/** Sends the undo request of `task` (attempt `n`) and decides what its outcome becomes. */
async function runUndo(
  deps: UndoDeps,
  exec: ExecutionRecord,
  graph: TaskRecord[],
  task: TaskRecord,
  n: number,
  deadline: number,
): Promise<UndoRun> {
  const log = { peid: task.peid, tenant_code: task.tenant_code, task_id: task.task_id, undo_attempt: n };
  const outcome = await runUndoRequest(deps, exec, graph, task, deadline);
  const output = outcome.output as { status?: unknown } | null;
  const response_status = typeof output?.status === 'number' ? output.status : null;
  const finished_at = deps.clock();
  if (outcome.status === 'succeeded') {
    metrics.addMetric('UndosSucceeded', MetricUnit.Count, 1);
    logger.info('undo succeeded', { ...log, response_status });
    return { outcome: { state: 'undone', response_status, error: null, finished_at } };
  }
  const error = outcome.error ?? { code: 'UNDO_FAILED', message: 'the undo did not succeed' };
  if (outcome.retryable && hasAttemptsLeft(task.def.retry, n)) {
    metrics.addMetric('UndosRetried', MetricUnit.Count, 1);
    logger.warn('undo failed, retried', { ...log, error: error.code });
    const delaySeconds = toDelaySeconds(nextRetryDelayMs(task.def.retry, n, deps.random));
    const message: TaskMessage = { ...undoMessageOf(task), undo: n + 1 };
    return {
      outcome: { state: 'undoing', response_status, error, finished_at: null },
      retry: { message, delaySeconds },
    };
  }
  metrics.addMetric('UndosFailed', MetricUnit.Count, 1);
  logger.error('undo failed: the containment stays in effect', { ...log, error: error.code, message: error.message });
  return { outcome: { state: 'undo_failed', response_status, error, finished_at } };
}

/**
 * The undo request as an http task of its own (run-task.ts): the same rendering (lib/engine/
 * http-request.ts: direct secrets only), the same integration client and its guards, the same
 * failure classes, every secret value redacted from the outcome. `run_if` was the task's own.
 */
async function runUndoRequest(
  deps: UndoDeps,
  exec: ExecutionRecord,
  graph: TaskRecord[],
  task: TaskRecord,
  deadline: number,
): Promise<TaskOutcome> {
  const { run_if: _runIf, ...def } = task.def;
  if (def.type !== 'http' || def.undo === undefined) {
    return {
      status: 'failed',
      output: null,
      error: { code: 'NO_UNDO', message: 'the task declares no undo' },
      retryable: false,
    };
  }
  const undoTask: TaskRecord = { ...task, def: { ...def, config: def.undo } };
  return runTask(undoTask, buildContext(exec, graph), deps.integrations, deadline, deps.secrets);
}

function undoMessageOf(task: TaskRecord): TaskMessage {
  return {
    v: 1,
    tenant_code: task.tenant_code,
    peid: task.peid,
    task_id: task.task_id,
    attempt: task.undo?.gen ?? 1,
    undo: 1,
  };
}

/** The task has nothing (more) to undo: while the run is rolled back, the undos it held back may start. */
async function settled(deps: UndoDeps, task: TaskRecord): Promise<UndoMessageOutcome> {
  await settledNow(deps, task);
  return 'moot';
}

/**
 * Sends the undos that `task` settling may have released (its ancestors whose dependents have all
 * settled), from reads made after the settling write: of two undos settling at once, at least the
 * later reads see both; of a settling and a rollback's start (which marks the run, then reads its
 * tasks), at least one sees the other. So no undo is left waiting.
 */
async function settledNow(deps: UndoDeps, task: TaskRecord): Promise<void> {
  const run = { tenant_code: task.tenant_code, peid: task.peid };
  const [exec, fresh] = await Promise.all([
    deps.runs.getExecution(run),
    deps.runs.listGraphTasks(run, { outputs: false }),
  ]);
  if (!exec || !rollingBack(exec)) return;
  const among = ancestors(undoNodes(fresh), task.task_id);
  if (among.size === 0) return;
  await deps.queue.send(readyMessages(fresh, among));
}
