/**
 * Answering approvals (docs/approvals.md): by an analyst with the tenant's JWT, or by whoever holds
 * the task's callback token; and the tenant's list of open questions. An answer is ONE conditional
 * transition of the task (waiting, before its deadline, and for a callback with that token's hash)
 * that records it and moves the task to `queued`; then the task's message is sent and the normal
 * pipeline completes the task with the answer as its output. Of any answers, the timeout and a
 * cancellation arriving at once exactly one changes the task; the others find it not waiting.
 */
import { type ApprovalAnswer, CALLBACK_ACTOR, mayAnswer, parseAnswer } from '../domain/approval.js';
import { hashCallbackToken, isCallbackToken } from '../domain/callback-token.js';
import type { ApprovalConfig } from '../domain/playbook-schema.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { recordAudit } from './audit.js';
import { approvalResponded, taskSource } from './audit-entries.js';
import { decodeCursorPair, encodeCursorPair, pageOf } from './cursor.js';
import { taskKey } from './model.js';
import type { AuditOutbox } from './ports/audit.js';
import type { TaskQueue } from './ports/task-queue.js';
import type { TimerStore } from './ports/timers.js';
import type { TaskRef, WaitingCursor, WaitingTask, WaitStore } from './ports/waits.js';
import { taskMessage } from './task-messages.js';
import { timerIdOf, timerMessage } from './timers.js';

export interface ApprovalDeps {
  waits: WaitStore;
  queue: TaskQueue;
  audit: AuditOutbox;
  clock: () => number;
  /** The approvals' timeout timers: an answered approval's is completed (it has nothing left to do). */
  timers?: Pick<TimerStore, 'complete'>;
}

/** An open question as GET /approvals lists it (never its token). */
export interface ApprovalItem {
  peid: string;
  task_id: string;
  playbook_name: string;
  prompt: string;
  choices: string[];
  /** The subs who may answer with a JWT; null: any user of the tenant. */
  approvers: string[] | null;
  expires_at: number;
  created_at: number;
}

/** An approval task after an answer: its question, its status and the answer recorded. */
export interface AnsweredApproval extends ApprovalItem {
  status: string;
  attempts: number;
  answer: ApprovalAnswer;
}

/** The same 404 for every callback that is not valid now: tokens cannot be probed. */
const NO_CALLBACK = 'no approval is waiting for this callback';

function itemOf(t: WaitingTask): ApprovalItem {
  const a = t.approval;
  return {
    peid: t.peid,
    task_id: t.task_id,
    playbook_name: a?.playbook_name ?? '',
    prompt: a?.prompt ?? '',
    choices: a?.choices ?? [],
    approvers: a?.approvers ?? null,
    expires_at: t.wait?.until ?? 0,
    created_at: t.wait?.since ?? 0,
  };
}

function answeredView(t: WaitingTask, answer: ApprovalAnswer): AnsweredApproval {
  return { ...itemOf(t), status: t.status, attempts: t.attempts, answer };
}

/** True while the task waits for an approval whose deadline is after `now`. */
function isOpen(t: WaitingTask, now: number): boolean {
  return t.status === 'waiting' && t.wait?.kind === 'approval' && t.approval !== undefined && t.wait.until > now;
}

/**
 * After the transition: the task's message (the next attempt claims the queued task and completes
 * it with the answer) and the audit entry. A message that cannot be sent now is not an error for
 * the caller (the answer is recorded): the reaper re-sends the message of a task left queued.
 */
async function afterAnswer(deps: ApprovalDeps, task: WaitingTask, answer: ApprovalAnswer, actor: string) {
  try {
    await deps.queue.send([taskMessage(task, task.attempts + 1, 0)]);
  } catch (err) {
    metrics.addMetric('ApprovalWakeupsDeferred', MetricUnit.Count, 1);
    logger.warn('approval answered; its task message is left to the reaper', {
      peid: task.peid,
      task_id: task.task_id,
      error: err as Error,
    });
  }
  if (deps.timers) {
    // Its timeout will find the task answered: done now rather than sent for nothing at the deadline.
    const ref = { tenant_code: task.tenant_code, peid: task.peid, task_id: task.task_id };
    const id = timerIdOf(timerMessage({ ...ref, attempt: task.attempts, kind: 'approval_timeout' })) as string;
    await deps.timers.complete(id, answer.at).catch((err: unknown) =>
      logger.warn('approval answered; its timeout timer fires later and finds nothing to do', {
        peid: task.peid,
        task_id: task.task_id,
        error: err as Error,
      }),
    );
  }
  await recordAudit(deps.audit, taskSource(task), approvalResponded(task, answer, actor));
  metrics.addMetric('ApprovalsAnswered', MetricUnit.Count, 1);
}

/**
 * POST /executions/{peid}/tasks/{task_id}/respond. 404: no such task in the caller's tenant;
 * 409: not an approval, or not waiting (answered, timed out, cancelled, not yet reached);
 * 403: the caller is not among the approvers; 400: a choice not offered or a bad comment.
 */
export async function respondToApproval(
  deps: ApprovalDeps,
  caller: { tenant_code: string; sub: string },
  ref: Omit<TaskRef, 'tenant_code'>,
  body: unknown,
): Promise<AnsweredApproval> {
  const key: TaskRef = { tenant_code: caller.tenant_code, peid: ref.peid, task_id: ref.task_id };
  const task = await deps.waits.getTask(key);
  if (!task) throw new NotFoundError(`task '${ref.task_id}' of execution '${ref.peid}' not found`);
  if (task.type !== 'approval') throw new ConflictError(`task '${ref.task_id}' is not an approval task`);
  const config = task.def.config as ApprovalConfig;
  if (!mayAnswer(task.approval?.approvers ?? config.approvers, caller.sub)) {
    throw new ForbiddenError(`you are not one of the approvers of task '${ref.task_id}'`);
  }
  const { choice, comment } = parseAnswer(body, task.approval?.choices ?? config.choices);
  const now = deps.clock();
  if (!isOpen(task, now)) throw new ConflictError(`task '${ref.task_id}' is not waiting for an answer`);
  const answer: ApprovalAnswer = { choice, by: caller.sub, comment, at: now };
  const after = await deps.waits.recordAnswer(key, { now }, answer, approvalResponded(task, answer, caller.sub));
  if (!after) throw new ConflictError(`task '${ref.task_id}' is not waiting for an answer`);
  await afterAnswer(deps, after, answer, caller.sub);
  return answeredView(after, answer);
}

/** The waiting approval a callback token stands for, or a 404. */
async function openByToken(deps: ApprovalDeps, token: string, now: number): Promise<WaitingTask> {
  if (!isCallbackToken(token)) throw new NotFoundError(NO_CALLBACK);
  const task = await deps.waits.findByTokenHash(hashCallbackToken(token));
  if (!task || !isOpen(task, now)) throw new NotFoundError(NO_CALLBACK);
  return task;
}

/** GET /callbacks/{token}: the question of the approval waiting for this token, or a 404. */
export async function callbackQuestion(deps: ApprovalDeps, token: string): Promise<ApprovalItem> {
  return itemOf(await openByToken(deps, token, deps.clock()));
}

/**
 * POST /callbacks/{token}: the same answer as respondToApproval, by `callback`, the token spent.
 * 404 for a token that is not valid now (unknown, spent, expired, cancelled), checked before the
 * body is read (`readBody`); then 400 for a bad answer.
 */
export async function answerCallback(
  deps: ApprovalDeps,
  token: string,
  readBody: () => unknown,
): Promise<AnsweredApproval> {
  const now = deps.clock();
  const task = await openByToken(deps, token, now);
  const { choice, comment } = parseAnswer(readBody(), task.approval?.choices ?? []);
  const answer: ApprovalAnswer = { choice, by: CALLBACK_ACTOR, comment, at: now };
  const key = { tenant_code: task.tenant_code, peid: task.peid, task_id: task.task_id };
  const after = await deps.waits.recordAnswer(
    key,
    { now, tokenHash: hashCallbackToken(token) },
    answer,
    approvalResponded(task, answer, CALLBACK_ACTOR),
  );
  if (!after) throw new NotFoundError(NO_CALLBACK);
  await afterAnswer(deps, after, answer, CALLBACK_ACTOR);
  return answeredView(after, answer);
}

export interface ApprovalPage {
  items: ApprovalItem[];
  next: string | null;
}

/** Opaque cursor: the last item's (created_at, task key). */
export function encodeApprovalCursor(c: WaitingCursor): string {
  return encodeCursorPair(c.since, c.key);
}

/** Decodes a cursor made by encodeApprovalCursor; undefined when it is not one. */
export function decodeApprovalCursor(cursor: string): WaitingCursor | undefined {
  const pair = decodeCursorPair(cursor, (since, key) => since >= 0 && key.length > 0 && key.length <= 200);
  return pair && { since: pair[0], key: pair[1] };
}

/** GET /approvals?status=waiting: the tenant's open questions, oldest first. */
export async function listApprovals(
  waits: WaitStore,
  tenant_code: string,
  query: { limit: number; after?: WaitingCursor },
): Promise<ApprovalPage> {
  const rows = await waits.listWaiting(tenant_code, { ...query, limit: query.limit + 1 });
  return pageOf(rows.map(itemOf), query.limit, (last) =>
    encodeApprovalCursor({ since: last.created_at, key: taskKey(last.peid, last.task_id) }),
  );
}
