/** Sub-playbooks: a `playbook` task runs a child run and takes its output; failures, depth and cycles. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { createHarness, type Harness, statuses } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());
beforeEach(() => h.stub.reset());

const child = (name: string, url: string) => ({
  name,
  tasks: [
    { id: 'lookup', type: 'http', config: { method: 'GET', url: `${url}/{{ alert.ip }}` } },
    {
      id: 'verdict',
      type: 'transform',
      depends_on: ['lookup'],
      config: { expression: '{"ip": alert.ip, "code": tasks.lookup.output.status}' },
    },
  ],
});

describe('playbook tasks', () => {
  it("start the child with a templated alert and take the child's output", async () => {
    await h.createPlaybook(child('enrich-ip', `${h.stub.url}/ok/child`));
    await h.createPlaybook({
      name: 'parent',
      tasks: [
        { id: 'enrich', type: 'playbook', config: { name: 'enrich-ip', alert: { ip: '{{ alert.src_ip }}' } } },
        { id: 'report', type: 'transform', depends_on: ['enrich'], config: { expression: 'tasks.enrich.output.ip' } },
      ],
    });
    const poller = h.poller().start();
    const e = await h.waitFinished(await h.startRun('parent', { src_ip: '203.0.113.50' }));
    await poller.stop();
    expect(e.execution_status).toBe('completed');
    expect(e.tasks.find((t) => t.task_id === 'enrich')?.output).toEqual({ ip: '203.0.113.50', code: 200 });
    expect(e.tasks.find((t) => t.task_id === 'report')?.output).toBe('203.0.113.50');
    expect(h.stub.callsTo('/ok/child/203.0.113.50')).toHaveLength(1);
    // The child is a run of its own, visible to the tenant.
    const list = await api('GET', '/executions', { token: h.tokenA, query: { limit: '100' } });
    const names = (list.body as { items: Array<{ playbook_name: string }> }).items.map((i) => i.playbook_name);
    expect(names).toContain('enrich-ip');
  });

  it('a failing sub-playbook fails the parent task (and the parent run)', async () => {
    await h.createPlaybook(child('broken-child', `${h.stub.url}/status/500`));
    await h.createPlaybook({
      name: 'parent-of-broken',
      tasks: [{ id: 'sub', type: 'playbook', config: { name: 'broken-child', alert: { ip: 'x' } } }],
    });
    const poller = h.poller().start();
    const e = await h.waitFinished(await h.startRun('parent-of-broken'));
    await poller.stop();
    expect(e.execution_status).toBe('failed');
    expect(statuses(e)).toEqual({ sub: 'failed' });
    expect(e.tasks[0]?.error?.code).toBe('SUBPLAYBOOK_FAILED');
  });

  it('refuses cycles between playbooks at save time, naming the cycle', async () => {
    await h.createPlaybook({ name: 'cycle-a', tasks: [{ id: 'x', type: 'playbook', config: { name: 'cycle-b' } }] });
    const res = await api('POST', '/playbooks', {
      token: h.tokenA,
      body: { name: 'cycle-b', tasks: [{ id: 'y', type: 'playbook', config: { name: 'cycle-a' } }] },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('cycle-b -> cycle-a -> cycle-b');
    const self = await api('POST', '/playbooks', {
      token: h.tokenA,
      body: { name: 'self-ref', tasks: [{ id: 'y', type: 'playbook', config: { name: 'self-ref' } }] },
    });
    expect(self.status).toBe(400);
  });

  it('limits nesting depth', async () => {
    // Seven levels of parent -> child: the sixth start is refused (depth limit 5).
    await h.createPlaybook({ name: 'level-6', tasks: [{ id: 'leaf', type: 'noop' }] });
    for (let i = 5; i >= 0; i--) {
      await h.createPlaybook({
        name: `level-${i}`,
        tasks: [{ id: 'down', type: 'playbook', config: { name: `level-${i + 1}` } }],
      });
    }
    const poller = h.poller().start();
    const e = await h.waitFinished(await h.startRun('level-0'), 45_000);
    await poller.stop();
    expect(e.execution_status).toBe('failed');
    expect(e.tasks[0]?.error?.message).toContain("sub-playbook 'level-1'");
    expect(e.tasks[0]?.error?.message).toContain('sub-playbooks nest at most 5 levels');
  });
});
