/** Building task messages: references only, with SQS delays for `delay` tasks and retries. */
import { queueDelaySeconds } from '../domain/delay.js';
import type { TaskDefinition } from '../domain/playbook-schema.js';
import { TIMER_KINDS, type TimerKind } from '../domain/timers.js';
import type { TaskMessage, TaskRecord } from './model.js';
import type { OutgoingTaskMessage } from './ports/task-queue.js';

/**
 * The delay of a task's first message: a `delay` of at most 900 s waits on the queue, not in a
 * function; a longer one (or `until`) starts at once and waits on a durable timer.
 */
export function initialDelaySeconds(def: TaskDefinition): number {
  return def.type === 'delay' ? queueDelaySeconds(def.config) : 0;
}

/** The message that starts `attempt` of a task. */
export function taskMessage(
  task: Pick<TaskRecord, 'tenant_code' | 'peid' | 'task_id'>,
  attempt: number,
  delaySeconds: number,
): OutgoingTaskMessage {
  return {
    message: { v: 1, tenant_code: task.tenant_code, peid: task.peid, task_id: task.task_id, attempt },
    delaySeconds,
  };
}

const MAX_ATTEMPT = 1000;

/** Parses an SQS body into a TaskMessage, or undefined when it is not one of ours. */
export function parseTaskMessage(body: string): TaskMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as Record<string, unknown>;
  const str = (x: unknown) => typeof x === 'string' && x.length > 0 && x.length <= 128;
  if (m.v !== 1 || !str(m.tenant_code) || !str(m.peid) || !str(m.task_id)) return undefined;
  if (typeof m.attempt !== 'number' || !Number.isInteger(m.attempt) || m.attempt < 1 || m.attempt > MAX_ATTEMPT) {
    return undefined;
  }
  return {
    v: 1,
    tenant_code: m.tenant_code as string,
    peid: m.peid as string,
    task_id: m.task_id as string,
    attempt: m.attempt,
    ...(m.deferred === true ? { deferred: true as const } : {}),
    ...(TIMER_KINDS.includes(m.timer as TimerKind) ? { timer: m.timer as TimerKind } : {}),
    ...(typeof m.undo === 'number' && Number.isInteger(m.undo) && m.undo >= 1 && m.undo <= MAX_ATTEMPT
      ? { undo: m.undo }
      : {}),
    ...(m.rollback === true ? { rollback: true as const } : {}),
  };
}
