/**
 * Executing one claimed task: evaluate run_if, render the config's templates
 * against { alert, tasks, execution }, run the task type, and turn whatever
 * happens into an outcome (never a throw), with the output capped in size.
 */
import { approvalOutcome } from '../domain/approval.js';
import { needsTimer } from '../domain/delay.js';
import { ExpressionError, evaluateExpression } from '../domain/expressions.js';
import { redactSecrets } from '../domain/redact.js';
import { renderHttpRequest } from './http-request.js';
import type { TaskError, TaskRecord } from './model.js';
import { type IntegrationClient, IntegrationError } from './ports/integrations.js';
import { SecretError, type SecretResolver } from './ports/secrets.js';

export interface TaskOutcome {
  status: 'succeeded' | 'failed' | 'skipped';
  output: unknown;
  error: TaskError | null;
  /** False for failures a retry cannot fix (bad template, blocked target). */
  retryable: boolean;
  /** The task finished with its test-run mock instead of running (lib/engine/mocks.ts). */
  mocked?: true;
}

export interface TemplateContext {
  alert: unknown;
  tasks: Record<string, { status: string; output: unknown; error: TaskError | null }>;
  execution: { peid: string; tenant_code: string };
}

/** The template context of a run; task outputs are parsed only when an expression reads them. */
export function buildContext(
  exec: { peid: string; tenant_code: string; alert_json: string },
  tasks: TaskRecord[],
): TemplateContext {
  const taskViews: TemplateContext['tasks'] = {};
  for (const t of tasks) {
    let parsed: { value: unknown } | undefined;
    taskViews[t.task_id] = {
      status: t.status,
      error: t.error,
      get output(): unknown {
        parsed ??= { value: t.output_json === null ? null : (JSON.parse(t.output_json) as unknown) };
        return parsed.value;
      },
    };
  }
  let alert: { value: unknown } | undefined;
  return {
    get alert(): unknown {
      alert ??= { value: JSON.parse(exec.alert_json) as unknown };
      return alert.value;
    },
    tasks: taskViews,
    execution: { peid: exec.peid, tenant_code: exec.tenant_code },
  };
}

function failure(code: string, message: string, retryable: boolean, output: unknown = null): TaskOutcome {
  return { status: 'failed', output, error: { code, message }, retryable };
}

/**
 * Runs one task to an outcome; `deadline` bounds everything it does. An http task's
 * config may use integration secrets directly (`{{ secrets.NAME }}`, see secret-refs.ts),
 * resolved through `secrets`; every resolved value is redacted from the outcome (output and
 * error, in every form redact.ts knows), so it is never stored, returned or logged.
 */
export async function runTask(
  task: TaskRecord,
  ctx: TemplateContext,
  integrations: IntegrationClient,
  deadline: number,
  secrets?: SecretResolver,
): Promise<TaskOutcome> {
  const used: string[] = [];
  const outcome = await runTaskUnredacted(task, ctx, integrations, deadline, secrets, used);
  if (used.length === 0) return outcome;
  return { ...outcome, output: redactSecrets(outcome.output, used), error: redactSecrets(outcome.error, used) };
}

async function runTaskUnredacted(
  task: TaskRecord,
  ctx: TemplateContext,
  integrations: IntegrationClient,
  deadline: number,
  secrets: SecretResolver | undefined,
  used: string[],
): Promise<TaskOutcome> {
  const def = task.def;
  try {
    if (def.run_if !== undefined) {
      const go = await evaluateExpression(def.run_if, ctx, { deadline });
      if (!go) return { status: 'skipped', output: null, error: null, retryable: false };
    }
    switch (def.type) {
      case 'noop':
        return { status: 'succeeded', output: null, error: null, retryable: false };
      case 'delay':
        // The wait happened on the queue (DelaySeconds), or in status `waiting` on a durable timer.
        if (!needsTimer(def.config))
          return {
            status: 'succeeded',
            output: { delayed_seconds: def.config.seconds },
            error: null,
            retryable: false,
          };
        if (task.wait?.kind === 'delay')
          return { status: 'succeeded', output: { waited_until: task.wait.until }, error: null, retryable: false };
        return failure('UNSUPPORTED', 'a delay over 900 s, or until a time, waits on a timer the engine starts', false);
      case 'approval': {
        // Answered (by an analyst, a callback or its timeout) while it waited: the answer is the result.
        const answer = task.approval?.answer;
        if (!answer)
          return failure('UNSUPPORTED', 'an approval task waits for its answer, started by the engine', false);
        const outcome = approvalOutcome(answer);
        return outcome.status === 'succeeded'
          ? { status: 'succeeded', output: outcome.output, error: null, retryable: false }
          : failure(outcome.error.code, outcome.error.message, false);
      }
      case 'transform': {
        const value = await evaluateExpression(def.config.expression, ctx, { deadline });
        return { status: 'succeeded', output: value ?? null, error: null, retryable: false };
      }
      case 'http': {
        const timeoutMs = Math.max(1, Math.min(def.timeout_ms, deadline - Date.now()));
        const request = await renderHttpRequest(def.config, ctx, {
          tenant_code: task.tenant_code,
          secrets,
          used,
          deadline,
          timeoutMs,
        });
        const res = await integrations.request(request);
        const output = { status: res.status, body: res.body };
        if (res.status >= 400) {
          // 4xx other than 408/429 will not change on retry.
          const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
          return failure('HTTP_STATUS', `integration answered ${res.status}`, retryable, output);
        }
        return { status: 'succeeded', output, error: null, retryable: false };
      }
      case 'playbook':
        // Started by executeBatch (sub-playbooks.ts), which waits for the child run.
        return failure('UNSUPPORTED', 'sub-playbook tasks are started by the engine, not run inline', false);
    }
  } catch (err) {
    if (err instanceof ExpressionError) return failure(err.code, err.message, false);
    if (err instanceof IntegrationError) return failure(err.code, err.message, err.retryable);
    if (err instanceof SecretError) return failure(err.code, err.message, err.retryable);
    return failure('TASK_FAILED', err instanceof Error ? err.message : 'task failed', true);
  }
}

/** An output as stored: JSON text, cut to the size limit. */
export interface StoredOutput {
  output_json: string;
  truncated: boolean;
}

/** A failed outcome for an exception the task's own code did not turn into one. */
export function taskFailure(code: string, err: unknown, retryable: boolean): TaskOutcome {
  const detail = err instanceof Error ? err.message : String(err);
  return failure(code, code === 'OUTPUT_INVALID' ? `the task's output cannot be stored: ${detail}` : detail, retryable);
}

/**
 * The outcome with its output serialized for storing. An output that cannot be serialized
 * (nothing from outside should get here deeper than MAX_INPUT_JSON_DEPTH, but whatever does)
 * turns the outcome into a failure of that task, never an exception of the batch.
 */
export function storable(outcome: TaskOutcome, maxBytes: number): { outcome: TaskOutcome; stored: StoredOutput } {
  try {
    return { outcome, stored: capOutput(outcome.output, maxBytes) };
  } catch (err) {
    return { outcome: taskFailure('OUTPUT_INVALID', err, false), stored: { output_json: 'null', truncated: false } };
  }
}

/** Serializes an output, cutting it to `maxBytes` of JSON text (then stored as a string preview). */
export function capOutput(output: unknown, maxBytes: number): StoredOutput {
  const json = JSON.stringify(output ?? null) ?? 'null';
  if (Buffer.byteLength(json, 'utf8') <= maxBytes) return { output_json: json, truncated: false };
  let preview = json.slice(0, maxBytes);
  while (Buffer.byteLength(JSON.stringify(preview), 'utf8') > maxBytes)
    preview = preview.slice(0, Math.floor(preview.length * 0.9));
  return { output_json: JSON.stringify(preview), truncated: true };
}
