/**
 * Inline tasks: a ready `transform` or `noop` (a join, typically) runs in the invocation that
 * decided it, without a message or a claim: it is evaluated in memory and its result is written by
 * one conditional update from `pending` (TASK_TRANSITIONS `inline`), in the bulk write of the
 * invocation's next commit group — in the same bulk as its dependencies' results when this
 * invocation ended them all. If the invocation dies before that write, the task is still pending:
 * the redelivered messages of its dependencies decide it again (fan-in.ts), and the reaper covers
 * the rest. Integrations (`http`, sub-playbooks, delays, loops) always go through the queue.
 */
import { MetricUnit, metrics } from '../../observability.js';
import { mockedOutcome } from '../mocks.js';
import type { TaskRecord } from '../model.js';
import { runTask, type TemplateContext, taskFailure } from '../run-task.js';
import type { Ran } from './results.js';

/** How many in-process tasks in a row one invocation runs without a queue hop. */
export const MAX_INLINE_DEPTH = 4;
/** Inline only while the batch has this much time before its deadline. */
const INLINE_MIN_LEFT_MS = 5_000;
/** An inline task's evaluation is bounded far below this. */
const INLINE_BUDGET_MS = 10_000;

/** A ready task this invocation can run itself: pure, in-process, not a loop, not too deep, with time left. */
export function inlinable(task: Pick<TaskRecord, 'def'> | undefined, depth: number, leftMs: number): boolean {
  if (!task || depth > MAX_INLINE_DEPTH || leftMs < INLINE_MIN_LEFT_MS) return false;
  return (task.def.type === 'transform' || task.def.type === 'noop') && task.def.for_each === undefined;
}

/** The task as its inline run sees it: its first attempt, started now, held by nobody. */
export function inlineRecord(task: TaskRecord, now: number): TaskRecord {
  return { ...task, status: 'running', attempts: 1, claim: null, started_at: now, updateddate: now };
}

/** Evaluates an inline task (its mock in a test run) to an outcome; never throws. */
export async function runInlineTask(
  task: TaskRecord,
  ctx: TemplateContext,
  clock: () => number,
  deadline: number,
): Promise<Ran> {
  metrics.addMetric('TasksInlined', MetricUnit.Count, 1);
  const began = clock();
  const until = Math.min(deadline, began + INLINE_BUDGET_MS);
  try {
    const outcome =
      task.mock !== undefined
        ? await mockedOutcome(task, ctx, until)
        : await runTask(task, ctx, { request: unsupported }, until);
    return { task, outcome, began, ended: clock() };
  } catch (err) {
    return { task, outcome: taskFailure('TASK_ERROR', err, true), began, ended: clock() };
  }
}

async function unsupported(): Promise<never> {
  throw new Error('an inline task makes no integration call');
}
