/**
 * Sub-playbook tasks in a batch (lib/engine/sub-playbooks.ts): a claimed `playbook` task renders
 * its alert and starts (or finds) its child run, then waits for it without a claim; when the
 * child ends, its wake-up message resumes the task, whose result is the child's outcome
 * (retried per the task's policy with a new child run).
 */
import { ExpressionError } from '../../domain/expressions.js';
import { renderTemplate } from '../../domain/templates.js';
import type { ExecutionRecord, TaskRecord } from '../model.js';
import type { ChildRunDeps } from '../ports/child-runs.js';
import type { RunRecords } from '../ports/run-records.js';
import type { OutgoingTaskMessage } from '../ports/task-queue.js';
import type { WaitingTasks } from '../ports/waiting-tasks.js';
import { capOutput, type TaskOutcome, type TemplateContext } from '../run-task.js';
import { childOutcome, startChildRun } from '../sub-playbooks.js';
import { type Fatal, fatalOf } from './fatal.js';
import { recordMetrics, retries, retryMessage } from './results.js';

function failed(code: string, message: string): TaskOutcome {
  return { status: 'failed', output: null, error: { code, message }, retryable: false };
}

/** Renders a `playbook` task's config and starts (or finds) its child run: its peid, or the task's outcome. */
export async function startChild(
  children: ChildRunDeps | undefined,
  task: TaskRecord,
  exec: ExecutionRecord,
  ctx: TemplateContext,
  deadline: number,
  now: number,
): Promise<{ peid: string } | TaskOutcome> {
  if (task.def.type !== 'playbook' || !children) return failed('UNSUPPORTED', 'sub-playbooks are not enabled');
  let rendered: { alert_id?: unknown; alert?: unknown };
  try {
    const config = { alert_id: task.def.config.alert_id, alert: task.def.config.alert };
    rendered = (await renderTemplate(config, ctx, { deadline })) as typeof rendered;
  } catch (err) {
    if (err instanceof ExpressionError) return failed(err.code, err.message);
    throw err;
  }
  const alert = rendered.alert ?? ctx.alert;
  if (typeof alert !== 'object' || alert === null || Array.isArray(alert))
    return failed('INVALID_ALERT', 'the sub-playbook alert must render to an object');
  const alertId =
    rendered.alert_id === undefined || rendered.alert_id === null ? exec.alert_id : String(rendered.alert_id);
  const request = {
    name: task.def.config.name,
    alert_id: alertId.slice(0, 256),
    alert: alert as Record<string, unknown>,
  };
  return startChildRun(children, task, exec, request, now);
}

/** Records that the tasks whose child run started now wait for it (their claims released). */
export async function recordWaits(
  deps: { runs: WaitingTasks; clock: () => number },
  waits: Array<{ task: TaskRecord; childPeid: string }>,
  token: string,
): Promise<void> {
  for (const { task, childPeid } of waits) {
    const ref = { tenant_code: task.tenant_code, peid: task.peid };
    await deps.runs.markWaiting(ref, task.task_id, childPeid, token, deps.clock());
  }
}

export interface Resumed {
  /** Tasks finished here (the fan-in decides their dependents). */
  done: TaskRecord[];
  /** Retries' messages. */
  messages: OutgoingTaskMessage[];
  fatal: Fatal[];
}

/** Sub-playbook tasks woken by their child run: the child's outcome becomes the task's result, once. */
export async function resumeWaiting(
  deps: {
    runs: WaitingTasks & Pick<RunRecords, 'getExecution' | 'listGraphTasks'>;
    clock: () => number;
    random: () => number;
    outputMaxBytes: number;
  },
  tasks: TaskRecord[],
  execs: Map<string, ExecutionRecord>,
): Promise<Resumed> {
  const out: Resumed = { done: [], messages: [], fatal: [] };
  for (const task of tasks) {
    const outcome = await childOutcome(deps.runs, task);
    if (!outcome) continue;
    const ref = { tenant_code: task.tenant_code, peid: task.peid };
    const now = deps.clock();
    const duration = task.started_at === null ? null : now - task.started_at;
    if (retries(task, outcome)) {
      const retry = { status: 'queued' as const, output_json: null, truncated: false, finished_at: null };
      const written = await deps.runs.finishWaiting(
        ref,
        task.task_id,
        { ...retry, error: outcome.error, duration_ms: duration },
        now,
      );
      if (written) out.messages.push(retryMessage(task, deps.random));
      continue;
    }
    const capped = capOutput(outcome.output, deps.outputMaxBytes);
    const result = { status: outcome.status, ...capped, error: outcome.error, finished_at: now, duration_ms: duration };
    if (!(await deps.runs.finishWaiting(ref, task.task_id, result, now))) continue;
    recordMetrics(task, outcome, false, duration ?? 0);
    out.done.push({ ...task, status: outcome.status });
    const fatal = fatalOf(task, execs.get(task.peid) as ExecutionRecord, outcome.status, outcome.error);
    if (fatal) out.fatal.push(fatal);
  }
  return out;
}
