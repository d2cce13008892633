/**
 * Sub-playbook waits (lib/engine/batch/sub-playbook-waits.ts) on the in-memory store: a
 * `playbook` task starts its child run and waits without a claim; the child's end wakes it and
 * its outcome becomes the task's (retried by the task's policy with a new child run); a
 * duplicate wake-up resumes it once.
 */
import { describe, expect, it } from 'vitest';
import { cancelRun } from '../../../lib/engine/runs.js';
import { createEngine, TENANT } from '../../support/engine-fixture.js';

const call = (id: string, path: string) => ({ id, type: 'http', config: { method: 'GET', url: `http://svc/${path}` } });
const parentTask = (extra: object = {}) => ({
  id: 'sub',
  type: 'playbook',
  config: { name: 'child', alert: { ip: '{{ alert.ip }}' } },
  ...extra,
});

describe('sub-playbooks', () => {
  it('waits for the child run, then takes its output; a duplicate wake-up changes nothing', async () => {
    const e = createEngine((req) => ({ status: 200, body: { url: req.url } }));
    e.addPlaybook('child', [{ id: 'look', type: 'transform', config: { expression: '"seen " & alert.ip' } }]);
    const { peid, roots } = e.start([parentTask(), { id: 'after', type: 'noop', depends_on: ['sub'] }], {
      ip: '10.0.0.1',
    });
    await e.deliver(roots);
    const sub = e.task(peid, 'sub');
    expect(sub).toMatchObject({ status: 'running', claim: null });
    const child = e.execution(sub.child_peid as string);
    expect(child).toMatchObject({
      parent: { peid, task_id: 'sub', attempt: 1 },
      depth: 1,
      execution_status: 'running',
    });
    // The child's root runs; its completion sends the parent's wake-up, which resumes the task.
    const childRoots = e.take();
    await e.deliver(childRoots);
    expect(e.execution(child.peid).execution_status).toBe('completed');
    const wake = e.take();
    expect(wake.map((m) => [m.message.peid, m.message.task_id])).toEqual([[peid, 'sub']]);
    await e.deliver([...wake, ...wake]);
    await e.deliver(wake);
    await e.drain();
    expect(e.task(peid, 'sub')).toMatchObject({ status: 'succeeded', output_json: '"seen 10.0.0.1"' });
    expect(e.task(peid, 'after').status).toBe('succeeded');
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a failed child is retried with a new child run, then fails the parent when attempts run out', async () => {
    const e = createEngine(() => ({ status: 400, body: null }));
    e.addPlaybook('child', [call('c', 'down')]);
    const { peid, roots } = e.start([parentTask({ retry: { max_attempts: 2, backoff_ms: 0 } })]);
    await e.deliver(roots);
    const firstChild = e.task(peid, 'sub').child_peid;
    await e.drain();
    const children = [...e.store.executions.values()].filter((x) => x.parent?.peid === peid);
    expect(children.map((c) => [c.parent?.attempt, c.execution_status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    expect(e.task(peid, 'sub').child_peid).not.toBe(firstChild);
    expect(e.task(peid, 'sub')).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'SUBPLAYBOOK_FAILED' } });
    expect(e.execution(peid)).toMatchObject({ execution_status: 'failed', error: { code: 'TASK_FAILED' } });
  });

  it('a missing playbook fails the task without a child run', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([parentTask({ on_failure: 'continue' })]);
    await e.deliver(roots);
    expect(e.task(peid, 'sub')).toMatchObject({ status: 'failed', error: { code: 'PLAYBOOK_NOT_FOUND' } });
    expect(e.store.executions.size).toBe(1);
    expect(e.execution(peid).execution_status).toBe('completed');
  });

  it('a parent that ends cancels its running child, and the child never wakes it', async () => {
    const e = createEngine();
    e.addPlaybook('child', [{ id: 'wait', type: 'delay', config: { seconds: 30 } }]);
    const { peid, roots } = e.start([parentTask()], {});
    await e.deliver(roots);
    const child = e.task(peid, 'sub').child_peid as string;
    // The parent is cancelled (as DELETE /executions/{peid} does): its end stops the child run.
    expect(await cancelRun(e.store, { tenant_code: TENANT, peid }, e.now(), e.deps.queue)).toBe('cancelled');
    expect(e.execution(child)).toMatchObject({ execution_status: 'cancelled', error: { code: 'PARENT_ENDED' } });
    expect(e.task(child, 'wait').status).toBe('cancelled');
    await e.drain();
    expect(e.task(peid, 'sub').status).toBe('cancelled');
  });
});
