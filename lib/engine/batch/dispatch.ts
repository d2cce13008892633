/**
 * Running the claimed tasks of a batch, all at once: a test run's mocked task finishes with its
 * mock; a loop task evaluates its list (its items are written by loops.ts); a `playbook` task
 * starts its child run (and waits, sub-playbook-waits.ts); an approval not answered yet, or a
 * delay too long for the queue, starts its durable wait (waits.ts); any other task runs (run-task.ts).
 */
import { logger } from '../../observability.js';
import { expandForEach, itemContext } from '../for-each.js';
import { mockedOutcome } from '../mocks.js';
import { type ExecutionRecord, expandsLoop, isGraphTask, type TaskRecord } from '../model.js';
import type { ChildRunDeps } from '../ports/child-runs.js';
import type { IntegrationClient } from '../ports/integrations.js';
import type { SecretResolver } from '../ports/secrets.js';
import type { WorkCounter } from '../ports/work-counter.js';
import { buildContext, runTask, type TaskOutcome, type TemplateContext, taskFailure } from '../run-task.js';
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

export interface Dispatched {
  ran: Ran[];
  /** Loop tasks whose list was evaluated (and charged): their items are to be written. */
  expansions: Array<{ task: TaskRecord; items: unknown[] }>;
  /** `playbook` tasks whose child run started: they wait for it. */
  waits: Array<{ task: TaskRecord; childPeid: string }>;
  /** Tasks that now wait in status `waiting` (an approval, a long delay): no result to write. */
  waiting: TaskRecord[];
}

export async function dispatch(
  deps: DispatchDeps,
  toRun: TaskRecord[],
  loaded: { execs: Map<string, ExecutionRecord>; tasks: TaskRecord[] },
  deadline: number,
): Promise<Dispatched> {
  const contexts = new Map<string, TemplateContext>();
  const contextOf = (peid: string): TemplateContext => {
    let ctx = contexts.get(peid);
    if (!ctx) {
      const graph = loaded.tasks.filter((t) => t.peid === peid && isGraphTask(t));
      ctx = buildContext(loaded.execs.get(peid) as ExecutionRecord, graph);
      contexts.set(peid, ctx);
    }
    return ctx;
  };
  const out: Dispatched = { ran: [], expansions: [], waits: [], waiting: [] };
  const began = deps.clock();
  // One task's exception is that task's failure, never the batch's (a failed batch is redelivered
  // whole: every other tenant's integration would be called again).
  const results = await Promise.allSettled(
    toRun.map(async (task): Promise<Ran | undefined> => {
      const began = deps.clock();
      const ctx = contextOf(task.peid);
      const ran = (outcome: TaskOutcome): Ran => ({ task, outcome, began, ended: deps.clock() });
      // A test run's mocked task makes no call, starts no child run and expands no loop.
      if (task.mock !== undefined) return ran(await mockedOutcome(task, ctx, deadline));
      const exec = loaded.execs.get(task.peid) as ExecutionRecord;
      if (expandsLoop(task)) {
        const expansion = await expandForEach(task, ctx, deadline);
        if (expansion.kind === 'outcome') return ran(expansion.outcome);
        // Charged to the run's work budget before a single item is written.
        const refused = await chargeItems(deps, exec, expansion.items.length);
        if (refused) return ran(refused);
        out.expansions.push({ task, items: expansion.items });
        return undefined;
      }
      if (task.def.type === 'playbook') {
        const started = await startChild(deps.children, task, exec, ctx, deadline, began);
        if (!('peid' in started)) return ran(started);
        out.waits.push({ task, childPeid: started.peid });
        return undefined;
      }
      const taskCtx = isGraphTask(task) ? ctx : itemContext(ctx, task);
      const wait = waitToStart(task);
      if (wait) {
        const started = await startTaskWait(deps, wait, task, exec, taskCtx, deadline);
        // Waiting, or another worker took the attempt over: nothing to write, the task stays open.
        if (started.status === 'lost') return undefined;
        if (started.status === 'waiting') {
          out.waiting.push(task);
          return undefined;
        }
        return ran(started);
      }
      return ran(await runTask(task, taskCtx, deps.integrations, deadline, deps.secrets));
    }),
  );
  out.ran = results
    .map((r, i) => (r.status === 'fulfilled' ? r.value : threw(deps, toRun[i] as TaskRecord, r.reason, began)))
    .filter((r) => r !== undefined);
  return out;
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
