/**
 * The work budget of a run: a top-level run and all its sub-playbook runs together create at
 * most `budget` units of work, one per task document (graph task or for_each item) and one per
 * child run. for_each over `playbook` tasks nested a few levels deep would otherwise multiply
 * without a ceiling (1,000 items x 200 tasks x depth 5).
 *
 * - At save time, what a definition creates whatever its input (its tasks, plus every
 *   sub-playbook it starts outside a loop, with that playbook's own tasks and sub-playbooks, down
 *   to the nesting limit) is computed from the stored playbooks; over the budget is a 400 naming
 *   the task whose sub-playbook brings it there.
 * - At run time, the top-level run counts what its tree has created (`work_used`, its tasks from
 *   the start). A loop's items and a child run's start (1 + its tasks) are charged before they
 *   are written, by one conditional update: over the budget, the task fails with
 *   WORK_BUDGET_EXCEEDED (not retried) and nothing is written. A worker that dies between the
 *   charge and the write may charge the same work twice when its attempt is taken over: the
 *   count may exceed what exists, never the other way round.
 */
import type { TaskDefinition } from '../domain/playbook-schema.js';
import { ValidationError } from '../errors.js';
import type { ExecutionRecord, RunRef, StoredPlaybook } from './model.js';
import type { PlaybookSource } from './ports/playbook-source.js';
import type { WorkCounter } from './ports/work-counter.js';
import type { TaskOutcome } from './run-task.js';

export const WORK_BUDGET_EXCEEDED = 'WORK_BUDGET_EXCEEDED';

export interface WorkLimits {
  /** Units of work a top-level run and its sub-playbook runs may create together. */
  budget: number;
  /** How deep sub-playbooks nest (deeper starts fail, so they create nothing). */
  maxDepth: number;
}

/** The deployed defaults (lib/config.ts: RUN_WORK_BUDGET, SUBPLAYBOOK_MAX_DEPTH). */
export const DEFAULT_WORK_LIMITS: WorkLimits = { budget: 5_000, maxDepth: 5 };

/** The top-level run whose counter a run's work is charged to. */
export function rootOf(exec: Pick<ExecutionRecord, 'tenant_code' | 'peid' | 'root_peid'>): RunRef {
  return { tenant_code: exec.tenant_code, peid: exec.root_peid ?? exec.peid };
}

/** Charges `units` to the tree of `exec`; the failed outcome of `what` when the budget does not allow it. */
export async function chargeWork(
  runs: WorkCounter,
  exec: Pick<ExecutionRecord, 'tenant_code' | 'peid' | 'root_peid'>,
  units: number,
  budget: number,
  what: string,
): Promise<TaskOutcome | undefined> {
  if (await runs.chargeWork(rootOf(exec), units, budget)) return undefined;
  return {
    status: 'failed',
    output: null,
    error: {
      code: WORK_BUDGET_EXCEEDED,
      message: `${what} (${units} units of work) would pass the run's budget: a run and its sub-playbook runs create at most ${budget} tasks, loop items and sub-playbook runs`,
    },
    retryable: false,
  };
}

/** Charges the items of a loop of `exec` before they are written; the loop's failed outcome when refused. */
export function chargeItems(
  deps: { runs: WorkCounter; workBudget?: number },
  exec: Pick<ExecutionRecord, 'tenant_code' | 'peid' | 'root_peid'>,
  count: number,
): Promise<TaskOutcome | undefined> {
  const budget = deps.workBudget ?? DEFAULT_WORK_LIMITS.budget;
  return chargeWork(deps.runs, exec, count, budget, `for_each of ${count} items`);
}

/**
 * Refuses a definition whose static work passes the budget, naming the `playbook` task whose
 * sub-playbook contributes most. Run after the cycle check (the walk assumes no cycle).
 */
export async function assertWithinWorkBudget(
  playbooks: PlaybookSource,
  tenant_code: string,
  name: string,
  tasks: StoredPlaybook['tasks'],
  limits: WorkLimits,
): Promise<void> {
  const memo = new Map<string, number>();
  // A child run at `depth` of `child`: itself, its tasks and their own children (0 past the limit).
  const childCost = async (child: string, depth: number): Promise<number> => {
    if (depth > limits.maxDepth) return 0;
    const key = `${child}@${depth}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const defs = child === name ? tasks : (await playbooks.getByName(tenant_code, child))?.tasks;
    const cost = defs === undefined ? 0 : 1 + (await sum(defs, depth));
    memo.set(key, cost);
    return cost;
  };
  const taskCost = async (t: TaskDefinition, depth: number): Promise<number> =>
    // A loop's items and their children depend on its list: charged at run time only.
    1 + (t.type === 'playbook' && t.for_each === undefined ? await childCost(t.config.name, depth + 1) : 0);
  const sum = async (defs: TaskDefinition[], depth: number): Promise<number> => {
    let total = 0;
    for (const t of defs) total += await taskCost(t, depth);
    return total;
  };
  const costs: number[] = [];
  for (const t of tasks) costs.push(await taskCost(t, 0));
  const total = costs.reduce((a, b) => a + b, 0);
  if (total <= limits.budget) return;
  const worst = costs.indexOf(Math.max(...costs));
  const path = tasks[worst]?.type === 'playbook' ? `tasks[${worst}].config.name` : 'tasks';
  throw new ValidationError('invalid playbook', [
    {
      path,
      message: `a run of this playbook creates at least ${total} tasks, loop items and sub-playbook runs (${costs[worst]} through this task); at most ${limits.budget} per run`,
    },
  ]);
}
