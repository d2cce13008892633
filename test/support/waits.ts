/**
 * Runs whose approval (or delay) task is put in a given state directly in the database, through
 * the product's own RunStore: the tests of answers, callbacks, timers and their races do not wait
 * for the engine's batch pipeline to start a wait. Each run is a playbook's real plan (planRun):
 * the approval task `approve`, and `block`, which runs only when the answer is `approve`.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { createRunStore } from '../../lib/adapters/mongo/run-store.js';
import { getDb } from '../../lib/clients/mongo.js';
import type { ApprovalState } from '../../lib/domain/approval.js';
import { hashCallbackToken, newCallbackToken } from '../../lib/domain/callback-token.js';
import { parsePlaybook } from '../../lib/domain/playbook-validation.js';
import type { StoredPlaybook, TaskRecord } from '../../lib/engine/model.js';
import { planRun } from '../../lib/engine/start-run.js';

export interface ApprovalRunOptions {
  /** The database to write to (default: the service's own, lib/clients/mongo.ts). */
  db?: Db;
  tenant_code?: string;
  playbook_name?: string;
  choices?: string[];
  approvers?: string[];
  on_timeout?: string;
  prompt?: string;
  /** The approval's state: `waiting` (default), `running` under a claim (a worker about to start the wait), or `pending`. */
  state?: 'waiting' | 'running' | 'pending';
  /** Wait start and deadline (epoch ms); default now and now + 1 h. */
  since?: number;
  until?: number;
  /** The approval's notify request. */
  notify?: Record<string, unknown>;
}

export interface ApprovalRun {
  peid: string;
  tenant_code: string;
  task_id: 'approve';
  token: string;
  until: number;
  claimToken: string;
}

/** The playbook the runs are planned from. */
export function approvalPlaybook(o: ApprovalRunOptions = {}) {
  return {
    name: o.playbook_name ?? 'approve-block',
    tasks: [
      {
        id: 'approve',
        type: 'approval',
        config: {
          prompt: o.prompt ?? 'Block {{ alert.src_ip }}?',
          ...(o.choices ? { choices: o.choices } : {}),
          ...(o.approvers ? { approvers: o.approvers } : {}),
          ...(o.on_timeout ? { on_timeout: o.on_timeout } : {}),
          ...(o.notify ? { notify: o.notify } : {}),
          timeout_seconds: 3_600,
        },
      },
      {
        id: 'block',
        type: 'noop',
        depends_on: ['approve'],
        run_if: "tasks.approve.output.choice = 'approve'",
      },
    ],
  };
}

/** A parsed playbook as the store holds it: version 1 of a new pid. */
function stored(parsed: ReturnType<typeof parsePlaybook>, tenant_code: string, now: number): StoredPlaybook {
  return { ...parsed, pid: randomUUID(), tenant_code, version: 1, createddate: now, updateddate: now };
}

/** Writes a run of the approval playbook with its approval task in `o.state`; returns its ids and token. */
export async function approvalRun(o: ApprovalRunOptions = {}): Promise<ApprovalRun> {
  const tenant_code = o.tenant_code ?? 'tenant-a';
  const parsed = parsePlaybook(approvalPlaybook(o));
  const now = Date.now();
  const playbook = stored(parsed, tenant_code, now);
  const peid = randomUUID();
  const plan = planRun(
    playbook,
    { playbook_name: playbook.name, alert_id: `alert-${peid}`, alert: { src_ip: '203.0.113.7' } },
    { tenant_code, sub: 'analyst-a' },
    peid,
    now,
  );
  const token = newCallbackToken();
  const claimToken = randomUUID();
  const since = o.since ?? now;
  const until = o.until ?? now + 3_600_000;
  const config = plan.tasks[0]?.def.config as { choices: string[]; approvers?: string[]; on_timeout: string };
  const approval: ApprovalState = {
    playbook_name: playbook.name,
    prompt: 'Block 203.0.113.7?',
    choices: config.choices,
    approvers: config.approvers ?? null,
    on_timeout: config.on_timeout,
    token_hash: hashCallbackToken(token),
    answer: null,
  };
  const state = o.state ?? 'waiting';
  const tasks: TaskRecord[] = plan.tasks.map((t) => {
    if (t.task_id !== 'approve' || state === 'pending') return t;
    if (state === 'running') {
      return {
        ...t,
        status: 'running',
        attempts: 1,
        started_at: now,
        claim: { token: claimToken, until: now + 60_000 },
      };
    }
    return {
      ...t,
      status: 'waiting',
      attempts: 1,
      started_at: since,
      claim: null,
      wait: { kind: 'approval', since, until },
      approval,
    };
  });
  await createRunStore(o.db ?? getDb()).insertRun(plan.exec, tasks);
  return { peid, tenant_code, task_id: 'approve', token, until, claimToken };
}

/** Writes a run of one `delay` task (`config`) followed by a noop, the delay `running` under a claim (its wait about to start). */
export async function delayRun(
  config: Record<string, unknown>,
  tenant_code = 'tenant-a',
): Promise<{ peid: string; tenant_code: string; claimToken: string }> {
  const parsed = parsePlaybook({
    name: 'wait-then-go',
    tasks: [
      { id: 'wait', type: 'delay', config },
      { id: 'go', type: 'noop', depends_on: ['wait'] },
    ],
  });
  const now = Date.now();
  const playbook = stored(parsed, tenant_code, now);
  const peid = randomUUID();
  const plan = planRun(
    playbook,
    {
      playbook_name: playbook.name,
      alert_id: `alert-${peid}`,
      alert: { resume_at: new Date(now + 3_600_000).toISOString() },
    },
    { tenant_code, sub: 'analyst-a' },
    peid,
    now,
  );
  const claimToken = randomUUID();
  const tasks = plan.tasks.map(
    (t): TaskRecord =>
      t.task_id === 'wait'
        ? { ...t, status: 'running', attempts: 1, started_at: now, claim: { token: claimToken, until: now + 60_000 } }
        : t,
  );
  await createRunStore(getDb()).insertRun(plan.exec, tasks);
  return { peid, tenant_code, claimToken };
}
