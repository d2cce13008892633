/**
 * Regular expressions cannot block a worker. V8's linear-time fallback does not cover
 * backreferences, lookarounds, case-insensitive patterns or counts above 16, so patterns like
 * `/^(a+)+$|\1/` backtrack exponentially inside one native call that no JSONata hook can
 * interrupt (0.1-0.9 s at 24 characters, doubling per character). The engine runs every
 * JSONata regular expression in a worker thread that is terminated at the evaluation's deadline.
 *
 * Here two such tasks of one tenant (a backreference and a lookahead, on 32 characters: minutes
 * of backtracking) reach the real executeTask handler in ONE batch with another tenant's http
 * task. The hostile tasks fail with EXPRESSION_TIMEOUT after one attempt; the other tenant's
 * integration is called exactly once and its run completes; no message is redelivered (before
 * the sandbox, the blocked batch outlived the 5 s visibility timeout); and the consumer keeps
 * serving regular expressions afterwards, case-insensitive and `{64}` ones included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';
import { coBatchPoller } from './support/co-batch.js';
import { waitSettled } from './support/fixtures.js';
import { waitQueueEmpty } from './support/queue.js';

let h: Harness;
const A32 = 'a'.repeat(32);

beforeAll(async () => {
  h = await createHarness();
  const transform = (name: string, expression: string, token = h.tokenA) =>
    h.createPlaybook({ name, tasks: [{ id: 'evil', type: 'transform', config: { expression } }] }, token);
  await transform('backreference', `$match("${A32}!", /^(a+)+$|\\1/)`);
  await transform('lookahead', `$contains("${A32}!", /^(?=(a+)+$)/)`);
  await h.createPlaybook(
    {
      name: 'neighbour',
      tasks: [{ id: 'call', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/regex-neighbour` } }],
    },
    h.tokenB,
  );
  await h.createPlaybook(
    {
      name: 'regex-works',
      tasks: [
        {
          id: 'ips',
          type: 'transform',
          config: { expression: '$match("from 10.0.0.1 to 192.168.7.42", /(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)/).groups' },
        },
        {
          id: 'hash',
          type: 'transform',
          config: { expression: `$contains("SHA256 ${'ab'.repeat(32)}", /sha256 [a-f0-9]{64}/i)` },
        },
        {
          id: 'split',
          type: 'transform',
          config: { expression: '$split("a1b22c333d", /[0-9]+/)' },
        },
      ],
    },
    h.tokenB,
  );
});
afterAll(async () => h.close());

describe('catastrophic regular expressions', () => {
  it('fail their own tasks at the deadline; a co-batched tenant runs once; the consumer keeps serving', async () => {
    const backref = await h.startRun('backreference');
    const lookahead = await h.startRun('lookahead');
    const neighbour = await h.startRun('neighbour', {}, h.tokenB);
    const { poller, batches } = await coBatchPoller(h);
    try {
      const runs = {
        backref: await waitSettled(h, backref, 60_000),
        lookahead: await waitSettled(h, lookahead, 60_000),
        neighbour: await waitSettled(h, neighbour, 60_000, h.tokenB),
      };
      expect(batches[0], 'the three first tasks in one batch').toBe(3);
      for (const name of ['backref', 'lookahead'] as const) {
        expect(runs[name].execution_status, name).toBe('failed');
        expect(runs[name].tasks[0], name).toMatchObject({
          status: 'failed',
          attempts: 1,
          error: { code: 'EXPRESSION_TIMEOUT' },
        });
      }
      expect(runs.neighbour.execution_status).toBe('completed');
      expect(h.stub.callsTo('/ok/regex-neighbour')).toHaveLength(1);

      // The consumer (and its regex worker, started again) keeps serving.
      const works = await waitSettled(h, await h.startRun('regex-works', {}, h.tokenB), 60_000, h.tokenB);
      expect(works.execution_status).toBe('completed');
      const out = Object.fromEntries(works.tasks.map((t) => [t.task_id, t.output]));
      expect(out).toEqual({
        ips: ['10', '0', '0', '1', '192', '168', '7', '42'],
        hash: true,
        split: ['a', 'b', 'c', 'd'],
      });

      await waitQueueEmpty(h.sqs, process.env.TASK_QUEUE_URL ?? '', 15_000);
      // Every message was received once and deleted: nothing was redelivered.
      expect(poller.stats.handlerErrors).toBe(0);
      expect(poller.stats.messagesFailed).toBe(0);
      expect(poller.stats.messagesReceived).toBe(poller.stats.messagesDeleted);
    } finally {
      await poller.stop();
    }
  });
});
