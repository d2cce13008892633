/**
 * The engine on the in-memory run store (memory-run-store.ts, held to the run-store contract):
 * a recording task queue, integrations answered by a function of the URL, a clock the test
 * moves, and helpers that deliver messages to executeBatch as a Lambda batch would. The tests
 * decide which messages arrive, in which batches, twice or never: the interleavings the
 * integration tests reach with real servers and sleeps.
 */
import { createRunGraphs, graphOfPlaybook } from '../../lib/adapters/cache/run-graphs.js';
import { parsePlaybook } from '../../lib/domain/playbook-validation.js';
import { type ExecuteBatchDeps, executeBatch } from '../../lib/engine/execute-batch.js';
import type { ExecutionRecord, StoredPlaybook, TaskRecord } from '../../lib/engine/model.js';
import { taskKey } from '../../lib/engine/model.js';
import type { IntegrationRequest, IntegrationResponse } from '../../lib/engine/ports/integrations.js';
import type { OutgoingTaskMessage } from '../../lib/engine/ports/task-queue.js';
import { planRun } from '../../lib/engine/start-run.js';
import { createMemoryRunStore, type MemoryRunStore } from './memory-run-store.js';

export const TENANT = 'tenant-a';

export interface Engine {
  store: MemoryRunStore;
  deps: ExecuteBatchDeps;
  /** Every message sent, in order; `take()` returns and forgets those not yet taken. */
  sent: OutgoingTaskMessage[];
  take(): OutgoingTaskMessage[];
  /** Integration calls, by URL, in order. */
  calls: string[];
  /** Moves the clock forward (firing the commit windows that come due). */
  advance(ms: number): void;
  /** Lets the event loop turn until `condition` holds (at most `turns` times; throws if it never does). */
  until(condition: () => boolean, turns?: number): Promise<void>;
  now(): number;
  /** Stores a playbook the engine can start as a sub-playbook. */
  addPlaybook(name: string, tasks: unknown[]): StoredPlaybook;
  /** Starts a run of `tasks` (written and its root messages returned, as startRun sends them). */
  start(tasks: unknown[], alert?: Record<string, unknown>): { peid: string; roots: OutgoingTaskMessage[] };
  /** Delivers messages to one executeBatch (a Lambda batch); the message ids it gives back. */
  deliver(messages: OutgoingTaskMessage[], remainingMs?: number): Promise<string[]>;
  /** Delivers what is sent, batch after batch (delays waited on the clock), until nothing is left. */
  drain(maxBatches?: number): Promise<number>;
  execution(peid: string): ExecutionRecord;
  task(peid: string, taskId: string): TaskRecord;
}

export function createEngine(
  answer: (req: IntegrationRequest) => IntegrationResponse | Promise<IntegrationResponse> = () => ({
    status: 200,
    body: { ok: true },
  }),
): Engine {
  const store = createMemoryRunStore();
  const playbooks = new Map<string, StoredPlaybook>();
  const sent: OutgoingTaskMessage[] = [];
  let taken = 0;
  let offset = 0;
  let tokens = 0;
  let ids = 0;
  const calls: string[] = [];
  const clock = () => Date.now() + offset;
  // Commit windows run on this clock: they fire when a test moves it, never on their own.
  let timers: Array<{ at: number; fn: () => void }> = [];
  const timer = (ms: number, fn: () => void) => {
    const t = { at: clock() + ms, fn };
    timers.push(t);
    return () => {
      timers = timers.filter((x) => x !== t);
    };
  };
  // The pinned versions' graphs, as the consumer's cache holds them once a run has started (its L2 copy).
  const graphs = createRunGraphs(undefined, { maxEntries: 100, maxBytes: 10_000_000, keyPrefix: '' });
  const queue = { send: async (messages: OutgoingTaskMessage[]) => void sent.push(...structuredClone(messages)) };
  const deps: ExecuteBatchDeps = {
    runs: store,
    queue,
    integrations: {
      request: async (req) => {
        calls.push(req.url);
        return answer(req);
      },
    },
    clock,
    newToken: () => `token-${++tokens}`,
    random: () => 0.5,
    outputMaxBytes: 65_536,
    leaseMarginMs: 30_000,
    graphs,
    timer,
    children: {
      playbooks: { getByName: async (tenant, name) => (tenant === TENANT ? (playbooks.get(name) ?? null) : null) },
      runs: store,
      queue,
      maxDepth: 3,
    },
  };
  const playbookOf = (name: string, tasks: unknown[]): StoredPlaybook => ({
    ...parsePlaybook({ name, tasks }),
    pid: `pid-${name}`,
    tenant_code: TENANT,
    version: 1,
    createddate: 0,
    updateddate: 0,
  });
  const engine: Engine = {
    store,
    deps,
    sent,
    take: () => {
      const out = sent.slice(taken);
      taken = sent.length;
      return out;
    },
    calls,
    advance: (ms) => {
      offset += ms;
      const due = timers.filter((t) => t.at <= clock()).sort((a, b) => a.at - b.at);
      timers = timers.filter((t) => !due.includes(t));
      for (const t of due) t.fn();
    },
    async until(condition, turns = 200) {
      for (let i = 0; i < turns; i++) {
        if (condition()) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
      throw new Error(`still not so after ${turns} turns of the event loop`);
    },
    now: clock,
    addPlaybook(name, tasks) {
      const p = playbookOf(name, tasks);
      playbooks.set(name, p);
      return p;
    },
    start(tasks, alert = {}) {
      const peid = `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;
      const playbook = playbookOf('p', tasks);
      const plan = planRun(
        playbook,
        { playbook_name: 'p', alert_id: 'a-1', alert },
        { tenant_code: TENANT, sub: 'analyst' },
        peid,
        clock(),
      );
      void store.insertRun(plan.exec, plan.tasks);
      graphs.remember(plan.exec, graphOfPlaybook(playbook));
      return { peid, roots: plan.roots };
    },
    async deliver(messages, remainingMs = 60_000) {
      const items = messages.map((m, i) => ({ messageId: `m${i}`, body: JSON.stringify(m.message) }));
      const result = await executeBatch(deps, items, remainingMs);
      return result.failedMessageIds;
    },
    async drain(maxBatches = 100) {
      let batches = 0;
      for (let next = engine.take(); next.length > 0; next = engine.take()) {
        if (++batches > maxBatches) throw new Error(`still sending after ${maxBatches} batches`);
        // SQS holds a delayed message back: wait it out on the clock, then deliver.
        engine.advance(Math.max(...next.map((m) => m.delaySeconds)) * 1000);
        await engine.deliver(next);
      }
      return batches;
    },
    execution(peid) {
      const e = store.executions.get(peid);
      if (!e) throw new Error(`no run ${peid}`);
      return e;
    },
    task(peid, taskId) {
      const t = store.tasks.get(taskKey(peid, taskId));
      if (!t) throw new Error(`no task ${taskId}`);
      return t;
    },
  };
  return engine;
}
