/**
 * Starting a wait (docs/durable-waits.md, docs/approvals.md): a claimed `approval` task, or a
 * `delay` too long for the queue, moves to `waiting` and releases its worker.
 *
 *   1. run_if, then the values the wait needs (an approval's prompt; a delay's end) are rendered;
 *      a template that fails fails the task (not retried);
 *   2. its timer (the approval's timeout, the delay's end) is recorded, not yet sent;
 *   3. the task moves from `running` under this claim to `waiting` (one conditional update): a
 *      worker that lost its claim stops here;
 *   4. the timer's message is sent at once if it is due within SQS's 900 s (else fireTimers does);
 *   5. an approval's `notify` request is sent, once, with the token in its templates' `approval`
 *      variables; how it went is recorded on the task (a failed notify does not fail the task:
 *      the question is in GET /approvals).
 *
 * A crash between 2 and 3 leaves a pending timer whose message finds no waiting task (moot, or
 * `early` while the attempt is taken over: waits.ts); a crash between 3 and 5 leaves the question
 * without its notification (answerable through the API), never notified twice.
 */
import { type ApprovalState, approvalExpiresAt, approvalVariables, promptText } from '../domain/approval.js';
import { hashCallbackToken, newCallbackToken } from '../domain/callback-token.js';
import { delayDueAt } from '../domain/delay.js';
import { ExpressionError, evaluateExpression } from '../domain/expressions.js';
import type { ApprovalConfig, DelayConfig } from '../domain/playbook-schema.js';
import { redactSecrets } from '../domain/redact.js';
import { renderTemplate } from '../domain/templates.js';
import { logger } from '../observability.js';
import { renderHttpRequest } from './http-request.js';
import type { TaskRecord } from './model.js';
import { type IntegrationClient, IntegrationError } from './ports/integrations.js';
import { SecretError, type SecretResolver } from './ports/secrets.js';
import type { WaitStore } from './ports/waits.js';
import type { TaskOutcome, TemplateContext } from './run-task.js';
import { recordTimer, sendTimerIfDue, type TimerDeps } from './timers.js';

export interface StartWaitDeps extends TimerDeps {
  waits: WaitStore;
  integrations: IntegrationClient;
  secrets?: SecretResolver;
  /** The service's public URL, so `approval.callback_url` is absolute (PUBLIC_BASE_URL). */
  baseUrl?: string;
}

/** The task now waits until `until`; `lost`: another worker holds the attempt; else a result to write. */
export type WaitStart = { status: 'waiting'; until: number } | { status: 'lost' } | TaskOutcome;

function failure(code: string, message: string): TaskOutcome {
  return { status: 'failed', output: null, error: { code, message }, retryable: false };
}

async function skipped(task: TaskRecord, ctx: TemplateContext, deadline: number): Promise<boolean> {
  return task.def.run_if !== undefined && !(await evaluateExpression(task.def.run_if, ctx, { deadline }));
}

/** Starts the wait of a claimed `approval` task of a run of `playbookName`. */
export async function startApprovalWait(
  deps: StartWaitDeps,
  claimed: { task: TaskRecord; claimToken: string; playbookName: string },
  ctx: TemplateContext,
  deadline: number,
): Promise<WaitStart> {
  const { task, claimToken } = claimed;
  const config = task.def.config as ApprovalConfig;
  let prompt: string;
  try {
    if (await skipped(task, ctx, deadline)) return { status: 'skipped', output: null, error: null, retryable: false };
    prompt = promptText(await renderTemplate(config.prompt, ctx, { deadline }));
  } catch (err) {
    if (err instanceof ExpressionError) return failure(err.code, err.message);
    throw err;
  }
  const now = deps.clock();
  const until = approvalExpiresAt(now, config.timeout_seconds);
  const token = newCallbackToken();
  const approval: ApprovalState = {
    playbook_name: claimed.playbookName,
    prompt,
    choices: config.choices,
    approvers: config.approvers ?? null,
    on_timeout: config.on_timeout,
    token_hash: hashCallbackToken(token),
    answer: null,
  };
  const ref = { tenant_code: task.tenant_code, peid: task.peid, task_id: task.task_id };
  const spec = { ...ref, attempt: task.attempts, kind: 'approval_timeout' as const, due_at: until };
  const timer = await recordTimer(deps, spec);
  const waiting = await deps.waits.startWaiting(
    ref,
    claimToken,
    { kind: 'approval', since: now, until },
    approval,
    now,
  );
  if (!waiting) return { status: 'lost' };
  await sendTimerIfDue(deps, timer);
  if (config.notify) {
    const vars = approvalVariables(prompt, config.choices, token, deps.baseUrl);
    await deps.waits.recordNotify(ref, await sendNotify(deps, task, { ...ctx, approval: vars }, token, deadline));
  }
  return { status: 'waiting', until };
}

/** The notify request of an approval task, sent once; never throws (the task waits either way): its status or error. */
async function sendNotify(
  deps: StartWaitDeps,
  task: TaskRecord,
  ctx: TemplateContext & { approval: unknown },
  token: string,
  deadline: number,
) {
  const notify = (task.def.config as ApprovalConfig).notify;
  const used: string[] = [];
  const at = deps.clock();
  try {
    const request = await renderHttpRequest(notify, ctx, {
      tenant_code: task.tenant_code,
      secrets: deps.secrets,
      used,
      deadline,
      timeoutMs: Math.max(1, Math.min(task.def.timeout_ms, deadline - Date.now())),
    });
    const res = await deps.integrations.request(request);
    return { at, status: res.status };
  } catch (err) {
    const known = err instanceof ExpressionError || err instanceof IntegrationError || err instanceof SecretError;
    // Neither a secret nor the token is recorded (an error may quote the URL it was sent to).
    const error = redactSecrets(
      { code: known ? err.code : 'NOTIFY_FAILED', message: err instanceof Error ? err.message : 'notify failed' },
      [...used, token],
    ) as { code: string; message: string };
    logger.warn('approval notify failed; the approval waits', {
      peid: task.peid,
      task_id: task.task_id,
      code: error.code,
    });
    return { at, error };
  }
}

/** Starts the wait of a claimed `delay` task too long for the queue (or with `until`); a past time ends it at once. */
export async function startDelayWait(
  deps: StartWaitDeps,
  claimed: { task: TaskRecord; claimToken: string },
  ctx: TemplateContext,
  deadline: number,
): Promise<WaitStart> {
  const { task, claimToken } = claimed;
  const config = task.def.config as DelayConfig;
  let until: unknown;
  try {
    if (await skipped(task, ctx, deadline)) return { status: 'skipped', output: null, error: null, retryable: false };
    if (config.until !== undefined) until = await renderTemplate(config.until, ctx, { deadline });
  } catch (err) {
    if (err instanceof ExpressionError) return failure(err.code, err.message);
    throw err;
  }
  const now = deps.clock();
  const due = delayDueAt(config, until, now);
  if ('error' in due) return failure(due.error.code, due.error.message);
  if (due.due_at <= now)
    return { status: 'succeeded', output: { waited_until: due.due_at }, error: null, retryable: false };
  const ref = { tenant_code: task.tenant_code, peid: task.peid, task_id: task.task_id };
  const timer = await recordTimer(deps, { ...ref, attempt: task.attempts, kind: 'delay', due_at: due.due_at });
  const wait = { kind: 'delay' as const, since: now, until: due.due_at };
  if (!(await deps.waits.startWaiting(ref, claimToken, wait, undefined, now))) return { status: 'lost' };
  await sendTimerIfDue(deps, timer);
  return { status: 'waiting', until: due.due_at };
}
