/**
 * Inline tasks: a ready `transform` or `noop` (a join, typically) runs in the invocation that
 * decided it, as a batch of its own, instead of a queue hop. Its claim, result write, fan-in and
 * close are a delivered message's; its message is not sent. If this invocation dies meanwhile,
 * the batch's own messages are redelivered and their fan-in re-sends a dependent left queued, or
 * running on an expired lease (planFanIn), and the reaper covers the rest. A task the inline
 * batch could not take (or an error) falls back to its message.
 */
import { logger, MetricUnit, metrics } from '../../observability.js';
import type { TaskRecord } from '../model.js';
import type { OutgoingTaskMessage, TaskQueue } from '../ports/task-queue.js';
import type { BatchItem } from './intake.js';

/** How many in-process tasks in a row one invocation runs without a queue hop. */
const MAX_INLINE_DEPTH = 4;
/** The remaining time an inline batch gets (its lease: this plus the lease margin); transforms are bounded far below it. */
const INLINE_BUDGET_MS = 10_000;
/** Inline only while the batch has this much time before its deadline. */
const INLINE_MIN_LEFT_MS = 5_000;

/** A ready task this invocation can run itself: pure, in-process, not a loop, not delayed, with time left. */
export function inlinable(
  task: TaskRecord | undefined,
  message: OutgoingTaskMessage,
  depth: number,
  leftMs: number,
): boolean {
  if (!task || depth >= MAX_INLINE_DEPTH || message.delaySeconds > 0 || leftMs < INLINE_MIN_LEFT_MS) return false;
  return (task.def.type === 'transform' || task.def.type === 'noop') && task.def.for_each === undefined;
}

/** Runs `messages` as a batch of their own through `execute` (executeBatch at `depth + 1`); sends what it gives back. */
export async function runInline(
  queue: TaskQueue,
  messages: OutgoingTaskMessage[],
  remainingMs: number,
  execute: (items: BatchItem[], remainingMs: number) => Promise<{ failedMessageIds: string[] }>,
): Promise<void> {
  metrics.addMetric('TasksInlined', MetricUnit.Count, messages.length);
  const items = messages.map((m, i) => ({ messageId: `inline-${i}`, body: JSON.stringify(m.message) }));
  try {
    const result = await execute(items, Math.min(remainingMs, INLINE_BUDGET_MS));
    const back = new Set(result.failedMessageIds);
    await queue.send(messages.filter((_, i) => back.has(`inline-${i}`)));
  } catch (err) {
    logger.warn('inline tasks failed, queueing them', {
      tasks: messages.map((m) => `${m.message.peid}/${m.message.task_id}`),
      error: err instanceof Error ? err.message : String(err),
    });
    await queue.send(messages);
  }
}
