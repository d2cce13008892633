/** for_each loops: one message per item, a concurrency window, ordered outputs, on_failure per item. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness, statuses } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());
beforeEach(() => h.stub.reset());

function maxInFlight(prefix: string): number {
  // Each stub call under /delay/ lasts its delay: count overlapping calls from their start times.
  const calls = h.stub.callsTo(prefix).map((c) => c.at);
  const ms = Number(prefix.split('/')[2] ?? 0);
  let max = 0;
  for (const t of calls) max = Math.max(max, calls.filter((u) => u <= t && u + ms > t).length);
  return max;
}

describe('for_each', () => {
  it('runs once per item with item and index, and outputs the list in input order', async () => {
    await h.createPlaybook({
      name: 'enrich-each',
      tasks: [
        {
          id: 'lookup',
          type: 'http',
          for_each: 'alert.ips',
          config: {
            method: 'POST',
            url: `${h.stub.url}/ok/ip/{{ item }}`,
            body: { ip: '{{ item }}', at: '{{ index }}' },
          },
        },
        {
          id: 'summary',
          type: 'transform',
          depends_on: ['lookup'],
          config: { expression: 'tasks.lookup.output.body.path' },
        },
      ],
    });
    const ips = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5'];
    const poller = h.poller().start();
    const e = await h.waitFinished(await h.startRun('enrich-each', { ips }));
    await poller.stop();
    expect(e.execution_status).toBe('completed');
    expect(statuses(e)).toEqual({ lookup: 'succeeded', summary: 'succeeded' });
    const lookup = e.tasks.find((t) => t.task_id === 'lookup') as unknown as {
      output: Array<{ body: { path: string; body: unknown } }>;
      items: unknown[];
    };
    expect(lookup.output.map((o) => o.body.path)).toEqual(ips.map((ip) => `/ok/ip/${ip}`));
    expect(lookup.output.map((o) => o.body.body)).toEqual(ips.map((ip, i) => ({ ip, at: i })));
    expect(lookup.items).toHaveLength(5);
    expect(e.tasks.find((t) => t.task_id === 'summary')?.output).toEqual(ips.map((ip) => `/ok/ip/${ip}`));
    expect(h.stub.callsTo('/ok/ip/')).toHaveLength(5);
  });

  it('keeps at most `concurrency` items in flight over 200 items', async () => {
    await h.createPlaybook({
      name: 'wide-each',
      tasks: [
        {
          id: 'scan',
          type: 'http',
          for_each: 'alert.indicators',
          concurrency: 10,
          config: { method: 'GET', url: `${h.stub.url}/delay/30/{{ index }}` },
        },
      ],
    });
    const indicators = Array.from({ length: 200 }, (_, i) => `ioc-${i}`);
    const poller = h.poller({ maxConcurrency: 10 }).start();
    const e = await h.waitFinished(await h.startRun('wide-each', { indicators }), 60_000);
    await poller.stop();
    expect(e.execution_status).toBe('completed');
    expect(h.stub.callsTo('/delay/30/')).toHaveLength(200);
    expect(h.stub.maxConcurrent).toBeLessThanOrEqual(10);
    expect(maxInFlight('/delay/30/')).toBeLessThanOrEqual(10);
    const out = e.tasks[0]?.output as unknown[];
    expect(out).toHaveLength(200);
  });

  it('one failed item fails the run under on_failure fail; continue lets dependents run', async () => {
    await h.createPlaybook({
      name: 'each-fail',
      tasks: [
        {
          id: 'check',
          type: 'http',
          for_each: '[200, 500, 200]',
          config: { method: 'GET', url: `${h.stub.url}/status/{{ item }}` },
        },
      ],
    });
    await h.createPlaybook({
      name: 'each-continue',
      tasks: [
        {
          id: 'check',
          type: 'http',
          for_each: '[200, 500, 200]',
          on_failure: 'continue',
          config: { method: 'GET', url: `${h.stub.url}/status/{{ item }}` },
        },
        { id: 'after', type: 'transform', depends_on: ['check'], config: { expression: 'tasks.check.error.code' } },
      ],
    });
    const poller = h.poller().start();
    const failed = await h.waitFinished(await h.startRun('each-fail'));
    const continued = await h.waitFinished(await h.startRun('each-continue'));
    await poller.stop();
    expect(failed.execution_status).toBe('failed');
    expect(failed.tasks[0]?.status).toBe('failed');
    expect(continued.execution_status).toBe('completed');
    expect(statuses(continued)).toEqual({ check: 'failed', after: 'succeeded' });
    expect(continued.tasks.find((t) => t.task_id === 'after')?.output).toBe('ITEMS_FAILED');
  });

  it('an empty list succeeds with an empty output; a single value is a list of one', async () => {
    await h.createPlaybook({
      name: 'each-edge',
      tasks: [
        { id: 'none', type: 'transform', for_each: 'alert.missing', config: { expression: 'item' } },
        { id: 'one', type: 'transform', for_each: 'alert.single', config: { expression: 'item & "!"' } },
      ],
    });
    const poller = h.poller().start();
    const e = await h.waitFinished(await h.startRun('each-edge', { single: 'x' }));
    await poller.stop();
    expect(e.execution_status).toBe('completed');
    expect(e.tasks.map((t) => [t.task_id, t.output])).toEqual([
      ['none', []],
      ['one', ['x!']],
    ]);
  });
});
