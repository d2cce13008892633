/**
 * Collection names (the original service's, so dashboards keep working) and
 * every index the service declares. `npm run db:migrate` creates them; each
 * query in the stores declares the index it relies on (indexed.ts), and
 * test/unit/index-coverage.test.ts checks every declaration against this list.
 * top_playbooks_collection needs none: it is read and written by _id only.
 */
import type { Db, IndexDirection } from 'mongodb';

export const COLLECTIONS = {
  playbooks: 'playbook_collection',
  executions: 'playbook_execution_collection',
  tasks: 'task_execution_collection',
  /** Every superseded or deleted playbook version, as it was. */
  playbookVersions: 'playbook_versions',
  /** One document per tenant with its last top-playbooks report, plus the computation marker. */
  topPlaybooks: 'top_playbooks_collection',
  /** The audit log: append-only, per tenant, expiring after the configured retention. */
  audit: 'audit_log',
  /** Webhooks of playbooks (_id = hook_id): no secret is stored, it is derived (lib/domain/webhook-signature.ts). */
  webhooks: 'playbook_webhooks',
  /** One schedule per playbook (_id = `tenant_code/playbook_name`), with its next slot. */
  schedules: 'playbook_schedules',
  /** Durable timers (docs/durable-waits.md): _id derived from (tenant, run, task, attempt, kind). */
  timers: 'timers',
} as const;

export type CollectionName = (typeof COLLECTIONS)[keyof typeof COLLECTIONS];

export interface IndexSpec {
  collection: CollectionName;
  name: string;
  key: Record<string, IndexDirection>;
  unique?: boolean;
  /** Only documents that have the key's field are in the index. */
  sparse?: boolean;
  /** A partial index: only documents matching this filter are in it (queries must name its fields). */
  partial?: Readonly<Record<string, unknown>>;
  /** A TTL index: documents expire this long after the (date) key's value. */
  expireAfterSeconds?: (settings: IndexSettings) => number;
}

/** Deployment settings some indexes depend on (lib/config.ts). */
export interface IndexSettings {
  /** The audit log's retention (AUDIT_RETENTION_DAYS). */
  auditRetentionSeconds: number;
}

export const INDEXES: IndexSpec[] = [
  // From the original Go service: the executions list per tenant and status, newest first.
  {
    collection: COLLECTIONS.executions,
    name: 'tenant_status_created',
    key: { tenant_code: 1, execution_status: 1, createddate: -1 },
  },
  // Ours: the executions list per tenant without a status filter, newest first.
  { collection: COLLECTIONS.executions, name: 'tenant_created', key: { tenant_code: 1, createddate: -1 } },
  // Ours: the reaper's sweep over running executions without recent progress (all tenants).
  { collection: COLLECTIONS.executions, name: 'status_updated', key: { execution_status: 1, updateddate: 1 } },
  // Ours: the sub-playbook runs of a run (a parent's end stops them; the reaper checks on them).
  { collection: COLLECTIONS.executions, name: 'tenant_parent', key: { tenant_code: 1, 'parent.peid': 1 } },
  // From the original Go service: runs by user.
  { collection: COLLECTIONS.executions, name: 'uid_created', key: { uid: 1, createddate: -1 } },
  // From the original Go service: the top-playbooks pipeline's $match and $group inputs.
  {
    collection: COLLECTIONS.executions,
    name: 'status_created_pid_runtime',
    key: { execution_status: 1, createddate: -1, pid: 1, playbook_runtime: 1 },
  },
  // Ours: finding runs (GET /executions) by one of playbook, alert, trigger or mode, each with or without a
  // status (a query without one names all four: MongoDB merges the four ranges in createddate order),
  // newest first, the cursor's tie-break (peid) in the key.
  {
    collection: COLLECTIONS.executions,
    name: 'tenant_playbook_status_created',
    key: { tenant_code: 1, playbook_name: 1, execution_status: 1, createddate: -1, peid: -1 },
  },
  {
    collection: COLLECTIONS.executions,
    name: 'tenant_alert_status_created',
    key: { tenant_code: 1, alert_id: 1, execution_status: 1, createddate: -1, peid: -1 },
  },
  {
    collection: COLLECTIONS.executions,
    name: 'tenant_trigger_status_created',
    key: { tenant_code: 1, 'trigger.type': 1, execution_status: 1, createddate: -1, peid: -1 },
  },
  {
    collection: COLLECTIONS.executions,
    name: 'tenant_mode_status_created',
    key: { tenant_code: 1, mode: 1, execution_status: 1, createddate: -1, peid: -1 },
  },
  // From the original Go service: the tasks of a run in order.
  { collection: COLLECTIONS.tasks, name: 'peid_seq', key: { peid: 1, task_seq: 1 } },
  // Ours: a run's graph tasks without its for_each items (item_of null), and one loop's items:
  // a batch's run read examines at most 200 documents however long its loops are.
  { collection: COLLECTIONS.tasks, name: 'peid_item_seq', key: { peid: 1, item_of: 1, task_seq: 1 } },
  // From the original Go service: tasks by alert.
  { collection: COLLECTIONS.tasks, name: 'tenant_alert_status', key: { tenant_code: 1, alert_id: 1, status: 1 } },
  // From the original Go service: playbook lists per tenant, status and category.
  {
    collection: COLLECTIONS.playbooks,
    name: 'tenant_status_category',
    key: { tenant_code: 1, status: 1, category_id: 1 },
  },
  // Ours: one playbook name per tenant.
  { collection: COLLECTIONS.playbooks, name: 'tenant_name_unique', key: { tenant_code: 1, name: 1 }, unique: true },
  // Ours: a version is archived once (a retried or concurrent update cannot archive it twice);
  // also a playbook's history, newest first (GET /playbooks/{name}/versions).
  {
    collection: COLLECTIONS.playbookVersions,
    name: 'tenant_pid_version_unique',
    key: { tenant_code: 1, pid: 1, version: 1 },
    unique: true,
  },
  // Ours: GET /audit, newest first (the id breaks ties, so a page boundary is exact), with and without `action`.
  { collection: COLLECTIONS.audit, name: 'audit_tenant_at', key: { tenant_code: 1, at: -1, _id: -1 } },
  {
    collection: COLLECTIONS.audit,
    name: 'audit_tenant_action_at',
    key: { tenant_code: 1, action: 1, at: -1, _id: -1 },
  },
  // Ours: retention; MongoDB removes an entry this long after its change.
  {
    collection: COLLECTIONS.audit,
    name: 'audit_expiry',
    key: { at_date: 1 },
    expireAfterSeconds: (s) => s.auditRetentionSeconds,
  },
  // Ours: documents carrying audit entries not yet copied into the log (the outbox; sparse, so it
  // holds only the changes in flight and what a crashed writer left), oldest first for the sweep.
  {
    collection: COLLECTIONS.playbooks,
    name: 'playbook_audit_pending',
    key: { 'audit_pending.at': 1 },
    sparse: true,
  },
  {
    collection: COLLECTIONS.executions,
    name: 'execution_audit_pending',
    key: { 'audit_pending.at': 1 },
    sparse: true,
  },
  // Ours: a playbook's webhooks, oldest first.
  {
    collection: COLLECTIONS.webhooks,
    name: 'tenant_playbook_created',
    key: { tenant_code: 1, playbook_name: 1, created_at: 1 },
  },
  // Ours: runSchedules' due schedules of every tenant, earliest slot first (disabled ones have none).
  { collection: COLLECTIONS.schedules, name: 'next_run', key: { next_run_at: 1, _id: 1 } },
  // Ours: GET /approvals, a tenant's tasks waiting for an answer, oldest first. Partial: only tasks in
  // status `waiting` are in it, so it holds the open questions, not every task ever run.
  {
    collection: COLLECTIONS.tasks,
    name: 'task_waiting_since',
    key: { tenant_code: 1, 'wait.kind': 1, 'wait.since': 1, _id: 1 },
    partial: { status: 'waiting' },
  },
  // Ours: a callback token's task, by the token's SHA-256 (approval tasks only: sparse).
  {
    collection: COLLECTIONS.tasks,
    name: 'task_token_hash',
    key: { 'approval.token_hash': 1 },
    unique: true,
    sparse: true,
  },
  // Ours: task documents carrying audit entries (an approval's answer) not yet copied into the log.
  { collection: COLLECTIONS.tasks, name: 'task_audit_pending', key: { 'audit_pending.at': 1 }, sparse: true },
  // Ours: webhooks and schedules carrying audit entries (created, set, or a deletion's tombstone) not yet in the log.
  { collection: COLLECTIONS.webhooks, name: 'webhook_audit_pending', key: { 'audit_pending.at': 1 }, sparse: true },
  { collection: COLLECTIONS.schedules, name: 'schedule_audit_pending', key: { 'audit_pending.at': 1 }, sparse: true },
  // Ours: GET /containments, a tenant's succeeded tasks with an undo, in effect or not, newest applied first
  // (the key breaks ties, so a page boundary is exact). Partial: only tasks with an undo state are in it.
  {
    collection: COLLECTIONS.tasks,
    name: 'task_containments',
    key: { tenant_code: 1, 'undo.in_effect': 1, 'undo.applied_at': -1, _id: -1 },
    partial: { 'undo.in_effect': { $exists: true } },
  },
  // Ours: fireTimers' sweep, every tenant: the timers to arm or send again, earliest first (done ones have none).
  { collection: COLLECTIONS.timers, name: 'timer_sweep', key: { sweep_at: 1, _id: 1 } },
  // Ours: a run's timers (cancelled with it).
  { collection: COLLECTIONS.timers, name: 'timer_run', key: { tenant_code: 1, peid: 1 } },
  // Ours: done timers (fired, cancelled, abandoned) are removed a week after they were done.
  { collection: COLLECTIONS.timers, name: 'timer_expiry', key: { done_date: 1 }, expireAfterSeconds: () => 7 * 86_400 },
];

/** The options MongoDB stores for `spec` under `settings`. */
export function indexOptions(spec: IndexSpec, settings: IndexSettings) {
  return {
    name: spec.name,
    ...(spec.unique ? { unique: true } : {}),
    ...(spec.sparse ? { sparse: true } : {}),
    ...(spec.partial ? { partialFilterExpression: { ...spec.partial } } : {}),
    ...(spec.expireAfterSeconds ? { expireAfterSeconds: spec.expireAfterSeconds(settings) } : {}),
  };
}

/**
 * Creates every declared index; safe to run any number of times. A TTL index whose retention
 * changed is updated in place (collMod), never dropped and rebuilt.
 */
export async function ensureIndexes(db: Db, settings: IndexSettings): Promise<string[]> {
  const created: string[] = [];
  for (const spec of INDEXES) {
    const col = db.collection(spec.collection);
    const opts = indexOptions(spec, settings);
    if (opts.expireAfterSeconds !== undefined) {
      const existing = (
        await col
          .listIndexes()
          .toArray()
          .catch(() => [])
      ).find((i) => i.name === spec.name);
      if (existing && existing.expireAfterSeconds !== opts.expireAfterSeconds) {
        await db.command({
          collMod: spec.collection,
          index: { name: spec.name, expireAfterSeconds: opts.expireAfterSeconds },
        });
      }
    }
    await col.createIndex(spec.key, opts);
    created.push(`${spec.collection}.${spec.name}`);
  }
  return created;
}
