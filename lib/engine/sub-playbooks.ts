/**
 * Sub-playbooks: a `playbook` task starts another playbook of the same tenant
 * with a templated alert and waits for it; the child's output becomes the
 * task's output. The child's peid is derived from (parent run, task, attempt),
 * so a redelivered start finds the child already there instead of starting a
 * second one. A child reaching a terminal status sends a resume message for the
 * waiting task. Depth is limited; cycles between playbooks are refused at save time.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { ExecutionRecord, StoredPlaybook, TaskRecord } from './model.js';
import type { OutgoingTaskMessage, RunStore, TaskQueue } from './ports.js';
import type { TaskOutcome } from './run-task.js';
import { type PlaybookSource, planRun } from './start-run.js';
import { taskMessage } from './task-messages.js';

export interface ChildRunDeps {
  playbooks: PlaybookSource;
  runs: RunStore;
  queue: TaskQueue;
  maxDepth: number;
}

export interface ChildRequest {
  name: string;
  alert_id: string;
  alert: Record<string, unknown>;
}

/** The child run's peid for one attempt of one task: a UUID derived from them. */
export function childPeid(parentPeid: string, taskId: string, attempt: number): string {
  const h = createHash('sha256').update(`${parentPeid}:${taskId}:${attempt}`).digest('hex');
  // RFC 9562 version 8 (custom) with the variant bits set.
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Starts (or finds) the child run of a claimed `playbook` task; an outcome when it cannot start. */
export async function startChildRun(
  deps: ChildRunDeps,
  task: TaskRecord,
  parent: ExecutionRecord,
  request: ChildRequest,
  now: number,
): Promise<{ peid: string } | TaskOutcome> {
  const fail = (code: string, message: string): TaskOutcome => ({
    status: 'failed',
    output: null,
    error: { code, message },
    retryable: false,
  });
  const depth = (parent.depth ?? 0) + 1;
  if (depth > deps.maxDepth) return fail('SUBPLAYBOOK_TOO_DEEP', `sub-playbooks nest at most ${deps.maxDepth} levels`);
  const playbook = await deps.playbooks.getByName(task.tenant_code, request.name);
  if (!playbook) return fail('PLAYBOOK_NOT_FOUND', `playbook '${request.name}' not found`);
  if (playbook.status !== 'active') return fail('PLAYBOOK_INACTIVE', `playbook '${request.name}' is inactive`);
  const peid = childPeid(task.peid, task.task_id, task.attempts);
  const plan = planRun(
    playbook,
    { playbook_name: request.name, alert_id: request.alert_id, alert: request.alert },
    { tenant_code: task.tenant_code, sub: parent.uid },
    peid,
    now,
    // A test run's children are test runs too (out of analytics); the parent's mocks name its own tasks only.
    { trigger: { type: 'subplaybook', parent_peid: task.peid, task_id: task.task_id }, mode: parent.mode ?? 'live' },
  );
  const child: ExecutionRecord = {
    ...plan.exec,
    parent: { peid: task.peid, task_id: task.task_id, attempt: task.attempts },
    depth,
  };
  await deps.runs.insertRun(child, plan.tasks);
  // Sent again on a retried start: the claims make duplicate root messages harmless.
  await deps.queue.send(plan.roots);
  return { peid };
}

/** The message that wakes the parent task of a child run that just reached a terminal status. */
export function resumeMessage(exec: Pick<ExecutionRecord, 'tenant_code' | 'parent'>): OutgoingTaskMessage | undefined {
  if (!exec.parent) return undefined;
  return taskMessage(
    { tenant_code: exec.tenant_code, peid: exec.parent.peid, task_id: exec.parent.task_id },
    exec.parent.attempt,
    0,
  );
}

/** The outcome of a waiting `playbook` task from its finished child run, or undefined while it runs. */
export async function childOutcome(runs: RunStore, task: TaskRecord): Promise<TaskOutcome | undefined> {
  const ref = { tenant_code: task.tenant_code, peid: task.child_peid ?? '' };
  const child = await runs.getExecution(ref);
  if (!child)
    return {
      status: 'failed',
      output: null,
      error: { code: 'CHILD_MISSING', message: 'the sub-playbook run is gone' },
      retryable: true,
    };
  if (child.execution_status === 'running') return undefined;
  if (child.execution_status !== 'completed') {
    return {
      status: 'failed',
      output: null,
      error: {
        code: 'SUBPLAYBOOK_FAILED',
        message: `sub-playbook '${child.playbook_name}' (run ${child.peid}) ${child.execution_status}${child.error ? `: ${child.error.message}` : ''}`,
      },
      retryable: true,
    };
  }
  // The child's output: its final tasks' outputs (one final task: its output alone).
  const tasks = (await runs.listTasks(ref)).filter((t) => t.item_of === undefined && t.dependents.length === 0);
  const outputs = Object.fromEntries(
    tasks.map((t) => [t.task_id, t.output_json === null ? null : (JSON.parse(t.output_json) as unknown)]),
  );
  const only = tasks.length === 1 ? tasks[0] : undefined;
  return { status: 'succeeded', output: only ? outputs[only.task_id] : outputs, error: null, retryable: false };
}

/**
 * Refuses a definition whose sub-playbook references lead back to itself
 * (through the tenant's stored playbooks), naming the cycle.
 */
export async function assertNoPlaybookCycle(
  playbooks: PlaybookSource,
  tenant_code: string,
  name: string,
  tasks: StoredPlaybook['tasks'],
): Promise<void> {
  const refsOf = (list: StoredPlaybook['tasks']) => list.flatMap((t) => (t.type === 'playbook' ? [t.config.name] : []));
  const start = tasks.map((t, i) => ({ i, t })).filter(({ t }) => t.type === 'playbook');
  for (const { i, t } of start) {
    if (t.type !== 'playbook') continue;
    // Depth-first over names; the stored definitions stand for every other playbook.
    const stack: Array<{ at: string; path: string[] }> = [{ at: t.config.name, path: [name, t.config.name] }];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const { at, path } = stack.pop() as { at: string; path: string[] };
      if (at === name) {
        throw new ValidationError('invalid playbook', [
          { path: `tasks[${i}].config.name`, message: `playbook cycle: ${path.join(' -> ')}` },
        ]);
      }
      if (seen.has(at) || seen.size > 200) continue;
      seen.add(at);
      const next = await playbooks.getByName(tenant_code, at);
      for (const ref of refsOf(next?.tasks ?? [])) stack.push({ at: ref, path: [...path, ref] });
    }
  }
}
