/**
 * Shared arrangement of the engine tests: a recording integration stub, tokens
 * for two tenants, the real executeTask handler behind the Lambda-like poller,
 * and helpers that go through the real HTTP handlers.
 */
import { createSqsClient } from '../../lib/clients.js';
import { mintToken } from '../../scripts/lib/token.js';
import { api } from './api.js';
import { TEST_JWT_SECRET } from './endpoints.js';
import { type PollerOptions, type SqsHandler, SqsPoller } from './sqs-poller.js';
import { type Stub, startStub } from './stub-server.js';

export interface ExecutionBody {
  peid: string;
  execution_status: string;
  playbook_version: number;
  playbook_runtime: number | null;
  completeddate: number | null;
  error: { code: string; message: string } | null;
  tasks: Array<{
    task_id: string;
    task_seq: number;
    status: string;
    attempts: number;
    output: unknown;
    error: { code: string; message: string } | null;
    truncated: boolean;
  }>;
}

export interface Harness {
  stub: Stub;
  tokenA: string;
  tokenB: string;
  sqs: ReturnType<typeof createSqsClient>;
  poller(opts?: Partial<PollerOptions>): SqsPoller;
  createPlaybook(body: unknown, token?: string): Promise<void>;
  startRun(name: string, alert?: Record<string, unknown>, token?: string): Promise<string>;
  execution(peid: string, token?: string): Promise<ExecutionBody>;
  waitFinished(peid: string, timeoutMs?: number): Promise<ExecutionBody>;
  close(): Promise<void>;
}

/** Builds the harness; call close() in afterAll. */
export async function createHarness(): Promise<Harness> {
  const stub = await startStub();
  const tokenA = await mintToken(TEST_JWT_SECRET, { tenant: 'tenant-a', sub: 'analyst-a' });
  const tokenB = await mintToken(TEST_JWT_SECRET, { tenant: 'tenant-b', sub: 'analyst-b' });
  const sqs = createSqsClient(process.env.AWS_REGION ?? 'us-east-1', process.env.SQS_ENDPOINT);
  const { handler } = await import('../../functions/execute-task.js');
  const pollers: SqsPoller[] = [];

  const h: Harness = {
    stub,
    tokenA,
    tokenB,
    sqs,
    poller(opts = {}) {
      const p = new SqsPoller({
        sqs,
        queueUrl: process.env.TASK_QUEUE_URL ?? '',
        handler: handler as unknown as SqsHandler,
        waitTimeSeconds: 1,
        ...opts,
      });
      pollers.push(p);
      return p;
    },
    async createPlaybook(body, token = tokenA) {
      const res = await api('POST', '/playbooks', { token, body });
      if (res.status !== 201) throw new Error(`create playbook: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async startRun(name, alert = {}, token = tokenA) {
      const res = await api('POST', '/runplaybook', {
        token,
        body: { playbook_name: name, alert_id: `alert-${Date.now()}`, alert },
      });
      if (res.status !== 202) throw new Error(`start run: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { peid: string }).peid;
    },
    async execution(peid, token = tokenA) {
      const res = await api('GET', `/executions/${peid}`, { token });
      if (res.status !== 200) throw new Error(`get execution: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as ExecutionBody;
    },
    async waitFinished(peid, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const e = await h.execution(peid);
        if (e.execution_status !== 'running') return e;
        if (Date.now() > end)
          throw new Error(
            `run ${peid} still running after ${timeoutMs} ms: ${JSON.stringify(e.tasks.map((t) => [t.task_id, t.status]))}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await Promise.all(pollers.map((p) => p.stop()));
      await stub.close();
      sqs.destroy();
    },
  };
  return h;
}

/** Task statuses of an execution by task id. */
export function statuses(e: ExecutionBody): Record<string, string> {
  return Object.fromEntries(e.tasks.map((t) => [t.task_id, t.status]));
}
