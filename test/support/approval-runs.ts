/**
 * Approvals and durable delays reached through the real pipeline: playbooks whose runs the
 * consumer takes to a `waiting` task (its notify sent to the test's stub), the callback token read
 * from that notification, and a consumer whose clock runs ahead (a virtual clock: time passes for
 * the engine without the test waiting for it).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { executeBatch } from '../../lib/engine/execute-batch.js';
import type { TaskMessage } from '../../lib/engine/model.js';
import { executeBatchDeps } from '../../lib/wiring/engine.js';
import type { ExecutionBody, Harness } from './harness.js';

export const APPROVERS = ['analyst-a', 'analyst-a2'];

/**
 * score -> approve (an approval, notified to the stub) -> block (an http call, only when the answer
 * is `approve`). `config` overrides the approval's config.
 */
export function approvalPlaybook(name: string, stubUrl: string, config: Record<string, unknown> = {}) {
  return {
    name,
    tasks: [
      { id: 'score', type: 'transform', config: { expression: '95' } },
      {
        id: 'approve',
        type: 'approval',
        depends_on: ['score'],
        config: {
          prompt: 'Block {{ alert.src_ip }}? score {{ tasks.score.output }}',
          approvers: APPROVERS,
          timeout_seconds: 3_600,
          on_timeout: 'reject',
          notify: {
            method: 'POST',
            url: `${stubUrl}/ok/notify`,
            body: { text: '{{ approval.prompt }} {{ approval.callback_url }}', peid: '{{ execution.peid }}' },
          },
          ...config,
        },
      },
      {
        id: 'block',
        type: 'http',
        depends_on: ['approve'],
        run_if: "tasks.approve.output.choice = 'approve'",
        config: { method: 'POST', url: `${stubUrl}/ok/block`, body: { ip: '{{ alert.src_ip }}' } },
      },
    ],
  };
}

type TaskView = ExecutionBody['tasks'][number] & {
  wait?: { kind: string; since: number; until: number; ended_at: number | null };
};

/** Polls the run until `taskId` is in `status`; the run as then read. */
export async function waitForTask(
  h: Harness,
  peid: string,
  taskId: string,
  status: string,
  token?: string,
  timeoutMs = 30_000,
): Promise<{ run: ExecutionBody; task: TaskView }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const run = await h.execution(peid, token);
    const task = run.tasks.find((t) => t.task_id === taskId) as TaskView | undefined;
    if (task?.status === status) return { run, task };
    if (Date.now() > end) {
      throw new Error(
        `task ${taskId} of ${peid} not ${status}: ${JSON.stringify(run.tasks.map((t) => [t.task_id, t.status]))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The notifications the stub received for run `peid`. */
export function notificationsOf(h: Harness, peid: string): Array<{ text: string; peid: string }> {
  return h.stub
    .callsTo('/ok/notify')
    .map((c) => c.body as { text: string; peid: string })
    .filter((b) => b?.peid === peid);
}

/**
 * The callback token of run `peid`'s approval, read from the link in its (single) notification,
 * waiting for it: the notify is sent right after the task is recorded `waiting`.
 */
export async function tokenOf(h: Harness, peid: string, timeoutMs = 10_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let sent = notificationsOf(h, peid);
  while (sent.length === 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    sent = notificationsOf(h, peid);
  }
  if (sent.length !== 1) throw new Error(`expected one notification of ${peid}, got ${sent.length}`);
  const link = /\/callbacks\/([A-Za-z0-9_-]{43})$/.exec(sent[0]?.text ?? '');
  if (!link?.[1]) throw new Error(`no callback link in ${JSON.stringify(sent[0])}`);
  return link[1];
}

/** The consumer (executeBatch, as functions/execute-task.ts runs it) with its clock `offsetMs` ahead. */
export function consumerAhead(offsetMs: number) {
  const deps = { ...executeBatchDeps(), clock: () => Date.now() + offsetMs };
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const items = event.Records.map((r) => ({ messageId: r.messageId, body: r.body }));
    const result = await executeBatch(deps, items, context.getRemainingTimeInMillis());
    return { batchItemFailures: result.failedMessageIds.map((id) => ({ itemIdentifier: id })) };
  };
}

/** Delivers one message to the consumer, in a batch of its own, with the consumer's clock at `at`; the ids it gave back. */
export async function deliverAt(message: TaskMessage, at: number): Promise<string[]> {
  const deps = { ...executeBatchDeps(), clock: () => at };
  const result = await executeBatch(deps, [{ messageId: 'm-1', body: JSON.stringify(message) }], 60_000);
  return result.failedMessageIds;
}
