/**
 * Running a claimed task of a batch: a test run's mocked task finishes with its mock; a loop task
 * evaluates its list (its items are written by loops.ts); a `playbook` task starts its child run
 * (and waits, sub-playbook-waits.ts); an approval not answered yet, or a delay too long for the
 * queue, starts its durable wait (waits.ts); any other task runs (run-task.ts).
 */
import { logger } from '../../observability.js';
import { expandForEach, itemContext } from '../for-each.js';
import { mockedOutcome } from '../mocks.js';
import { type ExecutionRecord, expandsLoop, isGraphTask, type TaskRecord } from '../model.js';
import type { ChildRunDeps } from '../ports/child-runs.js';
import type { IntegrationClient } from '../ports/integrations.js';
import type { SecretResolver } from '../ports/secrets.js';
import type { WorkCounter } from '../ports/work-counter.js';
import { runTask, type TaskOutcome, type TemplateContext, taskFailure } from '../run-task.js';
import { chargeItems } from '../work-budget.js';
import type { Ran } from './results.js';
import { startChild } from './sub-playbook-waits.js';
import { startTaskWait, type WaitStageDeps, waitToStart } from './waits.js';

export interface DispatchDeps extends WaitStageDeps {
  runs: WorkCounter;
  integrations: IntegrationClient;
  clock: () => number;
  secrets?: SecretResolver;
  children?: ChildRunDeps;
  workBudget?: number;
}

/** What running one claimed task came to. */
export type Dispatched =
  /** It ran to an outcome. */
  | { kind: 'ran'; ran: Ran }
  /** A loop task whose list was evaluated (and charged): its items are to be written. */
  | { kind: 'expansion'; task: TaskRecord; items: unknown[] }
  /** A `playbook` task whose child run started: it waits for it. */
  | { kind: 'wait'; task: TaskRecord; childPeid: string }
  /**
   * An approval or a long delay that now waits in status `waiting` (nothing to write), or whose
   * attempt another worker took over (`lost`: nothing to write, nothing to cancel).
   */
  | { kind: 'waiting'; task: TaskRecord; lost: boolean };

/**
 * Runs one claimed task (each of a batch's tasks runs concurrently, and each goes to the commit
 * as soon as it is done). Never throws: an exception is that task's failure, never the batch's (a
 * failed batch is redelivered whole: every other tenant's integration would be called again).
 */
export async function dispatchOne(
  deps: DispatchDeps,
  task: TaskRecord,
  ctx: TemplateContext,
  exec: ExecutionRecord,
  deadline: number,
): Promise<Dispatched> {
  const began = deps.clock();
  try {
    const ran = (outcome: TaskOutcome): Dispatched => ({
      kind: 'ran',
      ran: { task, outcome, began, ended: deps.clock() },
    });
    // A test run's mocked task makes no call, starts no child run and expands no loop.
    if (task.mock !== undefined) return ran(await mockedOutcome(task, ctx, deadline));
    if (expandsLoop(task)) {
      const expansion = await expandForEach(task, ctx, deadline);
      if (expansion.kind === 'outcome') return ran(expansion.outcome);
      // Charged to the run's work budget before a single item is written.
      const refused = await chargeItems(deps, exec, expansion.items.length);
      if (refused) return ran(refused);
      return { kind: 'expansion', task, items: expansion.items };
    }
    if (task.def.type === 'playbook') {
      const started = await startChild(deps.children, task, exec, ctx, deadline, began);
      if (!('peid' in started)) return ran(started);
      return { kind: 'wait', task, childPeid: started.peid };
    }
    const taskCtx = isGraphTask(task) ? ctx : itemContext(ctx, task);
    const wait = waitToStart(task);
    if (wait) {
      const started = await startTaskWait(deps, wait, task, exec, taskCtx, deadline);
      if (started.status === 'lost' || started.status === 'waiting')
        return { kind: 'waiting', task, lost: started.status === 'lost' };
      return ran(started);
    }
    return ran(await runTask(task, taskCtx, deps.integrations, deadline, deps.secrets));
  } catch (err) {
    return { kind: 'ran', ran: threw(deps, task, err, began) };
  }
}

/** The outcome of a task whose run threw: failed with TASK_ERROR, retried by its own policy. */
function threw(deps: DispatchDeps, task: TaskRecord, err: unknown, began: number): Ran {
  logger.error('task threw', {
    peid: task.peid,
    tenant_code: task.tenant_code,
    task_id: task.task_id,
    error: err as Error,
  });
  return { task, outcome: taskFailure('TASK_ERROR', err, true), began, ended: deps.clock() };
}
