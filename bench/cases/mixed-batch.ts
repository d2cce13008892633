/**
 * Mixed batch: one SQS batch holding one 5 s task and nine 50 ms tasks of two tenants, handed to the
 * real executeTask handler as one event, and for each fast task the delay between its end and its
 * dependent's start (task records: started_at - finished_at). METHOD below; report in
 * bench/lib/mixed-batch-report.ts.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Db } from 'mongodb';
import { handler as executeTaskHandler } from '../../functions/execute-task.js';
import { handler as runPlaybookHandler } from '../../functions/run-playbook.js';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { parseTaskMessage } from '../../lib/engine/task-messages.js';
import { playbookCatalog } from '../../lib/wiring/index.js';
import { lambdaContext } from '../../test/support/lambda-context.js';
import type { Stub } from '../../test/support/stub-server.js';
import { failedMessageIds, toRecord } from '../../tools/sqs-event-source/event-source.mjs';
import { createConsumer, DEPLOYED } from '../lib/consumer.js';
import type { BenchEnv } from '../lib/env.js';
import { claimInstants, type DependentDelay, dependentDelays, type TaskTimes } from '../lib/mixed-batch-delays.js';
import { type BatchCheck, MIXED_METHOD, mixedOutcome } from '../lib/mixed-batch-report.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';
import { type Caller, clearRuns, startRunVia, storePlaybook, waitFinished } from '../lib/workload.js';

export const SLOW_MS = 5_000;
export const FAST_MS = 50;
/** Tenant A's run: the slow task and 4 fast ones; tenant B's: 5 fast ones. One batch = one run of each. */
const TENANT_A: Caller = { tenant_code: 'mixed-tenant-a', sub: 'mixed-analyst' };
const TENANT_B: Caller = { tenant_code: 'mixed-tenant-b', sub: 'mixed-analyst' };
const WITH_SLOW = 'mixed-with-slow';
const FAST_ONLY = 'mixed-fast-only';
/** Batches handed over at once per round. */
const BATCHES = 2;

/** Fast tasks `fast_i`, each with one dependent `after_i` (even i: http, through the queue; odd i: transform). */
function mixedPlaybook(name: string, stubUrl: string, slow: boolean): Record<string, unknown> {
  const tasks: Array<Record<string, unknown>> = [];
  if (slow)
    tasks.push({
      id: 'slow',
      type: 'http',
      config: { method: 'POST', url: `${stubUrl}/delay/${SLOW_MS}`, body: { task: 'slow' } },
      timeout_ms: 30_000,
    });
  for (let i = 0; i < (slow ? 4 : 5); i++) {
    tasks.push({
      id: `fast_${i}`,
      type: 'http',
      config: { method: 'POST', url: `${stubUrl}/delay/${FAST_MS}`, body: { task: i } },
      timeout_ms: 10_000,
    });
    tasks.push(
      i % 2 === 0
        ? {
            id: `after_${i}`,
            type: 'http',
            depends_on: [`fast_${i}`],
            config: { method: 'POST', url: `${stubUrl}/ok/after`, body: { after: i } },
            timeout_ms: 10_000,
          }
        : {
            id: `after_${i}`,
            type: 'transform',
            depends_on: [`fast_${i}`],
            config: { expression: `tasks.fast_${i}.status` },
          },
    );
  }
  return { name, status: 'active', tasks };
}

export function mixedBatchCase(opts: { observer: Db; env: BenchEnv; stub: Stub }): BenchCase {
  const { observer: db, env, stub } = opts;
  // The bench plays the event source for the mixed batches; the poller takes everything else.
  const consumer = createConsumer(env, executeTaskHandler);
  const source = {
    eventSourceArn: `arn:aws:sqs:${env.endpoints.region}:000000000000:bench`,
    awsRegion: env.endpoints.region,
  };

  /** Every message on the queue (no poller runs meanwhile): receives until one comes back empty. */
  async function receiveAll(): Promise<Message[]> {
    const out: Message[] = [];
    for (;;) {
      const res = await consumer.client.send(
        new ReceiveMessageCommand({
          QueueUrl: env.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const got = res.Messages ?? [];
      if (got.length === 0) return out;
      out.push(...got);
    }
  }

  /** One batch as Lambda invokes it; then, as the event source, deletes what did not fail. */
  async function invokeBatch(messages: Message[]): Promise<number> {
    const records = messages.map((m) => toRecord(m, source));
    const response = await executeTaskHandler({ Records: records }, lambdaContext('executeTask', 120_000));
    const failed = failedMessageIds(response, records, true);
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length > 0)
      await consumer.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: env.queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    return failed.size;
  }

  /** One round: BATCHES pairs of runs, their roots received and handed over one batch per pair. */
  async function round(): Promise<{ delays: DependentDelay[]; checks: BatchCheck[]; slowMs: number[] }> {
    await consumer.stop();
    const pairs = await Promise.all(
      Array.from({ length: BATCHES }, async () => [
        await startRunVia(runPlaybookHandler, TENANT_A, WITH_SLOW),
        await startRunVia(runPlaybookHandler, TENANT_B, FAST_ONLY),
      ]),
    );
    const messages = await receiveAll();
    const peidOf = (m: Message) => parseTaskMessage(m.Body ?? '')?.peid;
    // Anything else on the queue (a late copy from an earlier case) goes back to it for the poller.
    const strays = messages.filter((m) => !pairs.flat().includes(peidOf(m) ?? ''));
    for (let i = 0; i < strays.length; i += 10)
      await consumer.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: env.queueUrl,
          Entries: strays
            .slice(i, i + 10)
            .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      );
    const batches = pairs.map((peids) => messages.filter((m) => peids.includes(peidOf(m) ?? '')));
    // The poller takes what the batches lead to (http dependents); their own messages are in flight.
    await consumer.start(DEPLOYED);
    const failed = await Promise.all(batches.map(invokeBatch));
    const peids = pairs.flat();
    await waitFinished(db, peids, 60_000);
    const tasks = await db
      .collection(COLLECTIONS.tasks)
      .find(
        { peid: { $in: peids } },
        {
          projection: {
            peid: 1,
            tenant_code: 1,
            task_id: 1,
            type: 1,
            status: 1,
            started_at: 1,
            finished_at: 1,
            'def.depends_on': 1,
          },
        },
      )
      .toArray();
    const times: TaskTimes[] = tasks.map((t) => ({
      peid: t.peid,
      tenant_code: t.tenant_code,
      task_id: t.task_id,
      type: t.type,
      status: t.status,
      started_at: t.started_at ?? null,
      finished_at: t.finished_at ?? null,
      depends_on: t.def?.depends_on ?? [],
    }));
    const instants = claimInstants(times, pairs);
    const checks: BatchCheck[] = batches.map((b, i) => ({
      messages: b.length,
      tenants: new Set(b.map((m) => parseTaskMessage(m.Body ?? '')?.tenant_code)).size,
      claimInstants: instants[i] ?? 0,
      failed: failed[i] ?? 0,
    }));
    const slowMs = times
      .filter((t) => t.task_id === 'slow' && t.started_at !== null && t.finished_at !== null)
      .map((t) => (t.finished_at as number) - (t.started_at as number));
    return { delays: dependentDelays(times, (id) => id.startsWith('fast_')), checks, slowMs };
  }

  return {
    id: 'mixed-batch',
    title: 'Mixed batch: one 5 s task with nine 50 ms tasks of two tenants in one SQS batch',
    claim:
      "A fast task's dependent starts within 150 ms of its parent finishing (p95), not after the batch's slow task",
    method: MIXED_METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      await storePlaybook(playbookCatalog(), TENANT_A, mixedPlaybook(WITH_SLOW, stub.url, true));
      await storePlaybook(playbookCatalog(), TENANT_B, mixedPlaybook(FAST_ONLY, stub.url, false));
      const rounds = ctx.quick ? 1 : 6;
      const delays: DependentDelay[] = [];
      const checks: BatchCheck[] = [];
      const slowMs: number[] = [];
      try {
        if (!ctx.quick) await round();
        for (let r = 0; r < rounds; r++) {
          const res = await round();
          delays.push(...res.delays);
          checks.push(...res.checks);
          slowMs.push(...res.slowMs);
          ctx.log(`mixed-batch round ${r + 1}/${rounds}`);
        }
      } finally {
        await consumer.close();
        await clearRuns(db);
      }
      const mixed = checks.filter((c) => c.tenants === 2);
      if (mixed.length !== checks.length)
        throw new Error(
          `only ${mixed.length} of ${checks.length} batches mixed both tenants' roots: ${JSON.stringify(checks)}`,
        );
      return mixedOutcome({ delays, checks, slowMs, rounds, batchesPerRound: BATCHES });
    },
  };
}
