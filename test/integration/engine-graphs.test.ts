import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness, statuses } from '../support/harness.js';
import type { SqsPoller } from '../support/sqs-poller.js';

let h: Harness;
let poller: SqsPoller;

beforeAll(async () => {
  h = await createHarness();
  poller = h.poller({ maxConcurrency: 4 }).start();
});
afterAll(async () => h.close());
beforeEach(() => h.stub.reset());

const http = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'http',
  config: { method: 'POST', url: `${h.stub.url}${path}`, body: { task: id } },
  ...extra,
});

describe('graph shapes', () => {
  it('runs a single task to completion with runtime recorded', async () => {
    await h.createPlaybook({ name: 'single', tasks: [http('only', '/ok/single')] });
    const peid = await h.startRun('single', { src_ip: '203.0.113.7' });
    const e = await h.waitFinished(peid);
    expect(e.execution_status).toBe('completed');
    expect(e.tasks).toHaveLength(1);
    expect(e.tasks[0]?.status).toBe('succeeded');
    expect(e.tasks[0]?.output).toMatchObject({ status: 200, body: { ok: true } });
    expect(e.playbook_runtime).toBe((e.completeddate ?? 0) - (e as unknown as { createddate: number }).createddate);
    expect(h.stub.callsTo('/ok/single')).toHaveLength(1);
  });

  it('runs a chain of 5 in order, each seeing the previous output', async () => {
    const tasks = [
      { id: 't1', type: 'transform', config: { expression: '1' } },
      ...[2, 3, 4, 5].map((i) => ({
        id: `t${i}`,
        type: 'transform',
        depends_on: [`t${i - 1}`],
        config: { expression: `tasks.t${i - 1}.output + 1` },
      })),
    ];
    await h.createPlaybook({ name: 'chain', tasks });
    const e = await h.waitFinished(await h.startRun('chain'));
    expect(e.execution_status).toBe('completed');
    expect(e.tasks.map((t) => [t.task_id, t.task_seq, t.output])).toEqual([
      ['t1', 1, 1],
      ['t2', 2, 2],
      ['t3', 3, 3],
      ['t4', 4, 4],
      ['t5', 5, 5],
    ]);
  });

  it('runs a diamond with the join after both branches, templates rendered from the alert', async () => {
    await h.createPlaybook({
      name: 'diamond',
      tasks: [
        { id: 'start', type: 'noop' },
        http('left', '/ok/left', { depends_on: ['start'] }),
        {
          id: 'right',
          type: 'http',
          depends_on: ['start'],
          config: { method: 'GET', url: `${h.stub.url}/ok/right/{{ alert.src_ip }}` },
        },
        {
          id: 'join',
          type: 'transform',
          depends_on: ['left', 'right'],
          config: { expression: '[tasks.left.output.status, tasks.right.output.body.path]' },
        },
      ],
    });
    const e = await h.waitFinished(await h.startRun('diamond', { src_ip: '198.51.100.4' }));
    expect(e.execution_status).toBe('completed');
    expect(e.tasks.find((t) => t.task_id === 'join')?.output).toEqual([200, '/ok/right/198.51.100.4']);
    const joinCall = Math.max(...h.stub.calls.map((c) => c.at));
    expect(joinCall).toBeGreaterThan(0);
  });

  it('fans out 50 independent tasks and joins them once', async () => {
    const fan = Array.from({ length: 50 }, (_, i) => http(`f${i}`, `/ok/fan/${i}`));
    await h.createPlaybook({
      name: 'fan-out',
      tasks: [
        ...fan,
        {
          id: 'join',
          type: 'transform',
          depends_on: fan.map((f) => f.id),
          config: { expression: '$count($keys(tasks))' },
        },
      ],
    });
    const e = await h.waitFinished(await h.startRun('fan-out'), 60_000);
    expect(e.execution_status).toBe('completed');
    expect(h.stub.callsTo('/ok/fan/')).toHaveLength(50);
    expect(e.tasks.find((t) => t.task_id === 'join')).toMatchObject({ status: 'succeeded', attempts: 1, output: 51 });
  });

  it('skips a branch whose run_if is false; join all skips, join any runs', async () => {
    await h.createPlaybook({
      name: 'conditions',
      tasks: [
        { id: 'score', type: 'transform', config: { expression: 'alert.score' } },
        http('block', '/ok/block', { depends_on: ['score'], run_if: 'tasks.score.output > 80' }),
        http('notify', '/ok/notify', { depends_on: ['score'] }),
        { id: 'after_all', type: 'noop', depends_on: ['block', 'notify'] },
        { id: 'after_any', type: 'noop', depends_on: ['block', 'notify'], join: 'any' },
        { id: 'downstream', type: 'noop', depends_on: ['after_all'] },
      ],
    });
    const e = await h.waitFinished(await h.startRun('conditions', { score: 10 }));
    expect(e.execution_status).toBe('completed');
    expect(statuses(e)).toEqual({
      score: 'succeeded',
      block: 'skipped',
      notify: 'succeeded',
      after_all: 'skipped',
      after_any: 'succeeded',
      downstream: 'skipped',
    });
    expect(h.stub.callsTo('/ok/block')).toHaveLength(0);
  });

  it('with on_failure continue, dependents run and see the error', async () => {
    await h.createPlaybook({
      name: 'continue',
      tasks: [
        http('lookup', '/status/404', { on_failure: 'continue' }),
        { id: 'report', type: 'transform', depends_on: ['lookup'], config: { expression: 'tasks.lookup.error.code' } },
      ],
    });
    const e = await h.waitFinished(await h.startRun('continue'));
    expect(e.execution_status).toBe('completed');
    expect(statuses(e)).toEqual({ lookup: 'failed', report: 'succeeded' });
    expect(e.tasks.find((t) => t.task_id === 'report')?.output).toBe('HTTP_STATUS');
  });

  it('retries with backoff and succeeds on the 3rd attempt', async () => {
    await h.createPlaybook({
      name: 'retry-ok',
      tasks: [http('flaky', '/flaky/r1/2', { retry: { max_attempts: 3, backoff_ms: 10, max_backoff_ms: 20 } })],
    });
    const e = await h.waitFinished(await h.startRun('retry-ok'));
    expect(e.execution_status).toBe('completed');
    expect(e.tasks[0]).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(h.stub.callsTo('/flaky/r1')).toHaveLength(3);
  });

  it('fails the run when retries are exhausted and cancels what had not started', async () => {
    await h.createPlaybook({
      name: 'retry-exhausted',
      tasks: [
        http('doomed', '/status/503', { retry: { max_attempts: 2, backoff_ms: 10, max_backoff_ms: 10 } }),
        { id: 'slow', type: 'delay', config: { seconds: 30 } },
        { id: 'after', type: 'noop', depends_on: ['doomed'] },
        { id: 'after_slow', type: 'noop', depends_on: ['slow'] },
      ],
    });
    const e = await h.waitFinished(await h.startRun('retry-exhausted'));
    expect(e.execution_status).toBe('failed');
    expect(e.error?.message).toContain('doomed');
    expect(statuses(e)).toEqual({ doomed: 'failed', slow: 'cancelled', after: 'cancelled', after_slow: 'cancelled' });
    expect(e.tasks.find((t) => t.task_id === 'doomed')?.attempts).toBe(2);
    expect(h.stub.callsTo('/status/503')).toHaveLength(2);
  });

  it('caps stored outputs and flags them truncated', async () => {
    await h.createPlaybook({ name: 'big-output', tasks: [http('big', '/big/200000')] });
    const e = await h.waitFinished(await h.startRun('big-output'));
    expect(e.tasks[0]).toMatchObject({ status: 'succeeded', truncated: true });
    expect(JSON.stringify(e.tasks[0]?.output).length).toBeLessThanOrEqual(64 * 1024 + 2);
  });

  it('lets the poller stay within its concurrency limit', () => {
    expect(poller.stats.maxInFlight).toBeLessThanOrEqual(4);
    expect(poller.stats.handlerErrors).toBe(0);
  });
});
