/**
 * Sub-playbooks: a `playbook` task starts another playbook of the same tenant
 * with a templated alert and waits for it; the child's output becomes the
 * task's output. The child's peid is derived from (parent run, task, attempt,
 * run attempt), so a redelivered start finds the child already there instead of
 * starting a second one, and takes its outcome if it has already finished. A
 * child reaching a terminal status wakes the waiting task (run-lifecycle.ts);
 * a parent that ends stops its children. Depth and the run's work budget are
 * limited; cycles between playbooks are refused at save time.
 */
import { derivedUuid } from '../domain/derived-id.js';
import { ValidationError } from '../errors.js';
import type { ExecutionRecord, StoredPlaybook, TaskRecord } from './model.js';
import type { ChildRunDeps } from './ports/child-runs.js';
import type { PlaybookSource } from './ports/playbook-source.js';
import type { RunRecords } from './ports/run-records.js';
import { endRun, PARENT_ENDED } from './run-lifecycle.js';
import type { TaskOutcome } from './run-task.js';
import { planRun } from './start-run.js';
import { chargeWork, DEFAULT_WORK_LIMITS, rootOf } from './work-budget.js';

export interface ChildRequest {
  name: string;
  alert_id: string;
  alert: Record<string, unknown>;
}

/**
 * The child run's peid for one attempt of one task: a UUID derived from them (and from the run's
 * attempt after a redrive, so a redriven task starts a new child instead of finding the old one).
 */
export function childPeid(parentPeid: string, taskId: string, attempt: number, runAttempt = 1): string {
  return derivedUuid(`${parentPeid}:${taskId}:${attempt}${runAttempt > 1 ? `:r${runAttempt}` : ''}`);
}

function failed(code: string, message: string, retryable = false): TaskOutcome {
  return { status: 'failed', output: null, error: { code, message }, retryable };
}

/**
 * Starts (or finds) the child run of a claimed `playbook` task: its peid while it runs, or an
 * outcome when it cannot start or has already finished (an earlier holder of this attempt started
 * it and died before recording the wait: the child's wake-up found no waiting task).
 */
export async function startChildRun(
  deps: ChildRunDeps,
  task: TaskRecord,
  parent: ExecutionRecord,
  request: ChildRequest,
  now: number,
): Promise<{ peid: string } | TaskOutcome> {
  const depth = (parent.depth ?? 0) + 1;
  if (depth > deps.maxDepth)
    return failed('SUBPLAYBOOK_TOO_DEEP', `sub-playbooks nest at most ${deps.maxDepth} levels`);
  const playbook = await deps.playbooks.getByName(task.tenant_code, request.name);
  if (!playbook) return failed('PLAYBOOK_NOT_FOUND', `playbook '${request.name}' not found`);
  if (playbook.status !== 'active') return failed('PLAYBOOK_INACTIVE', `playbook '${request.name}' is inactive`);
  const peid = childPeid(task.peid, task.task_id, task.attempts, parent.attempt ?? 1);
  const ref = { tenant_code: task.tenant_code, peid };
  const existing = await deps.runs.getExecution(ref);
  if (existing && existing.execution_status !== 'running') {
    return (await childOutcome(deps.runs, { ...task, child_peid: peid })) ?? failed('CHILD_MISSING', 'no child run');
  }
  const plan = planRun(
    playbook,
    { playbook_name: request.name, alert_id: request.alert_id, alert: request.alert },
    { tenant_code: task.tenant_code, sub: parent.uid },
    peid,
    now,
    // A test run's children are test runs too (out of analytics); the parent's mocks name its own tasks only.
    { trigger: { type: 'subplaybook', parent_peid: task.peid, task_id: task.task_id }, mode: parent.mode ?? 'live' },
  );
  const { work_used: _own, ...exec } = plan.exec;
  const child: ExecutionRecord = {
    ...exec,
    parent: { peid: task.peid, task_id: task.task_id, attempt: task.attempts },
    depth,
    root_peid: rootOf(parent).peid,
  };
  if (!existing) {
    const budget = deps.workBudget ?? DEFAULT_WORK_LIMITS.budget;
    const refused = await chargeWork(
      deps.runs,
      parent,
      1 + plan.tasks.length,
      budget,
      `sub-playbook '${request.name}'`,
    );
    if (refused) return refused;
    await deps.runs.insertRun(child, plan.tasks);
  }
  // The parent may have ended while the child was written. Its end looks for children after
  // changing its status; this read comes after the child's write: one of the two sees the other.
  const current = await deps.runs.getExecution({ tenant_code: parent.tenant_code, peid: parent.peid });
  if (current?.execution_status !== 'running') {
    await endRun(
      deps,
      child,
      'cancelled',
      now,
      { code: PARENT_ENDED, message: 'the run that started it ended' },
      { wake: false },
    );
    return failed(PARENT_ENDED, 'the run ended while its sub-playbook was starting');
  }
  // Sent again on a retried start: the claims make duplicate root messages harmless.
  await deps.queue.send(plan.roots);
  return { peid };
}

/** The outcome of a waiting `playbook` task from its finished child run, or undefined while it runs. */
export async function childOutcome(
  runs: Pick<RunRecords, 'getExecution' | 'listGraphTasks'>,
  task: TaskRecord,
): Promise<TaskOutcome | undefined> {
  const ref = { tenant_code: task.tenant_code, peid: task.child_peid ?? '' };
  const child = await runs.getExecution(ref);
  if (!child) return failed('CHILD_MISSING', 'the sub-playbook run is gone', true);
  if (child.execution_status === 'running') return undefined;
  if (child.execution_status !== 'completed') {
    return failed(
      'SUBPLAYBOOK_FAILED',
      `sub-playbook '${child.playbook_name}' (run ${child.peid}) ${child.execution_status}${child.error ? `: ${child.error.message}` : ''}`,
      true,
    );
  }
  // The child's output: its final tasks' outputs (one final task: its output alone). Graph tasks only.
  const tasks = (await runs.listGraphTasks(ref, { outputs: true })).filter((t) => t.dependents.length === 0);
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
