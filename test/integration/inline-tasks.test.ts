/**
 * Ready in-process tasks (transform, noop) run in the invocation that made them ready, without a
 * queue hop each (lib/engine/batch/inline.ts); integrations never do; depth is bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';
import type { SqsPoller } from '../support/sqs-poller.js';

let h: Harness;
let poller: SqsPoller;

beforeAll(async () => {
  h = await createHarness();
  poller = h.poller({ maxConcurrency: 2 }).start();
});
afterAll(async () => h.close());

/**
 * Task messages received so far: counted on receipt, so a message whose invocation completes
 * the run is counted before the run reads as finished (a deletion would come after).
 */
const delivered = () => poller.stats.messagesReceived;

describe('inline continuation', () => {
  it('a chain of 7 transforms takes 2 messages (1 + 4 inline, then 1 + 1 inline), outputs intact', async () => {
    const tasks = [
      { id: 't1', type: 'transform', config: { expression: '1' } },
      ...[2, 3, 4, 5, 6, 7].map((i) => ({
        id: `t${i}`,
        type: 'transform',
        depends_on: [`t${i - 1}`],
        config: { expression: `tasks.t${i - 1}.output + 1` },
      })),
    ];
    await h.createPlaybook({ name: 'inline-chain', tasks });
    const before = delivered();
    const e = await h.waitFinished(await h.startRun('inline-chain'));
    expect(e.execution_status).toBe('completed');
    expect(e.tasks.map((t) => [t.task_id, t.status, t.output])).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((i) => [`t${i}`, 'succeeded', i]),
    );
    expect(delivered() - before).toBe(2);
  });

  it('a join after 3 http calls runs inline (4 messages for 4 tasks minus the join); the calls are queued', async () => {
    const call = (id: string) => ({
      id,
      type: 'http',
      config: { method: 'POST', url: `${h.stub.url}/ok/${id}`, body: { id } },
    });
    await h.createPlaybook({
      name: 'inline-join',
      tasks: [
        call('c1'),
        call('c2'),
        call('c3'),
        {
          id: 'join',
          type: 'transform',
          depends_on: ['c1', 'c2', 'c3'],
          config: { expression: '"joined"' },
        },
        {
          id: 'notify',
          type: 'http',
          depends_on: ['join'],
          config: { method: 'POST', url: `${h.stub.url}/ok/notify` },
        },
      ],
    });
    const before = delivered();
    const e = await h.waitFinished(await h.startRun('inline-join'));
    expect(e.execution_status).toBe('completed');
    expect(e.tasks.find((t) => t.task_id === 'join')?.output).toBe('joined');
    // c1..c3 and notify (an integration: never inline) were delivered; the join was not.
    expect(delivered() - before).toBe(4);
    for (const id of ['c1', 'c2', 'c3', 'notify']) expect(h.stub.callsTo(`/ok/${id}`)).toHaveLength(1);
  });
});
