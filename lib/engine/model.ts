/**
 * The persisted shapes of runs and tasks (MongoDB field names follow the
 * original service's collections, so existing dashboards and indexes keep working).
 * Alerts and task outputs are stored as JSON text: they are never queried, and
 * text keeps arbitrary third-party keys (`$x`, `a.b`) from meeting the database.
 */
import type { ApprovalState, TaskWait } from '../domain/approval.js';
import type { AuditEntry } from '../domain/audit.js';
import type { TaskDefinition } from '../domain/playbook-schema.js';
import type { ExecutionStatus, TaskStatus } from '../domain/statuses.js';
import type { TimerKind } from '../domain/timers.js';
import type { RunMode, RunTrigger } from '../domain/triggers.js';

export interface TaskError {
  code: string;
  message: string;
}

/** A playbook as stored: the validated definition plus identity and version. */
export interface StoredPlaybook {
  pid: string;
  tenant_code: string;
  name: string;
  description?: string;
  category_id?: string;
  status: 'active' | 'inactive';
  tasks: TaskDefinition[];
  version: number;
  createddate: number;
  updateddate: number;
  /** The `sub` of whoever created this version (absent on versions written before it was recorded). */
  updated_by?: string;
}

export interface ExecutionRecord {
  peid: string;
  tenant_code: string;
  pid: string;
  playbook_name: string;
  playbook_version: number;
  alert_id: string;
  uid: string;
  alert_json: string;
  execution_status: ExecutionStatus;
  createddate: number;
  updateddate: number;
  completeddate: number | null;
  playbook_runtime: number | null;
  /** Ids of tasks not yet terminal; the run completes when it becomes empty. */
  open_tasks: string[];
  tasks_total: number;
  error: TaskError | null;
  /** On a sub-playbook run: the task of the parent run waiting for it, and the nesting depth (top level 0). */
  parent?: { peid: string; task_id: string; attempt: number };
  depth?: number;
  /** On a sub-playbook run: the top-level run of its tree (which holds the tree's work budget). */
  root_peid?: string;
  /** On a top-level run: the units of work (tasks, loop items, child runs) its tree has created. */
  work_used?: number;
  /** 1 for the first attempt of the run; each redrive adds one. */
  attempt?: number;
  /** `test` runs replace their mocked tasks and never count in analytics; absent on runs older than modes (live). */
  mode?: RunMode;
  /** What started the run; absent on runs older than triggers (the API). */
  trigger?: RunTrigger;
  /** How each earlier attempt ended (redrive keeps the history). */
  history?: Array<{
    attempt: number;
    execution_status: ExecutionStatus;
    error: TaskError | null;
    completeddate: number | null;
  }>;
  /** Audit entries written with a change of this run, not yet copied into the log (lib/engine/audit.ts). */
  audit_pending?: AuditEntry[];
}

/** A test run's stand-in for one task: the output or the error it finishes with, without running. */
export type TaskMock = { output_json: string } | { error: TaskError };

export interface TaskClaim {
  token: string;
  until: number;
}

export interface TaskRecord {
  peid: string;
  tenant_code: string;
  alert_id: string;
  task_seq: number;
  task_id: string;
  type: TaskDefinition['type'];
  /** The definition as it was when the run started: runs are pinned to their playbook version. */
  def: TaskDefinition;
  dependents: string[];
  status: TaskStatus;
  /** Attempts started so far (the attempt in progress included). */
  attempts: number;
  claim: TaskClaim | null;
  output_json: string | null;
  truncated: boolean;
  error: TaskError | null;
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  createddate: number;
  updateddate: number;
  /** On an item of a `for_each` task: the loop task's id, the item's position and value. */
  item_of?: string;
  item_index?: number;
  item_json?: string;
  /** The item queued when this one finishes (the concurrency window's hand-over chain). */
  item_successor?: number;
  /** On a `playbook` task waiting for its sub-playbook: the child run. */
  child_peid?: string;
  /** On an expanded `for_each` task: how many items, and the positions not yet finished. */
  items_total?: number;
  open_items?: number[];
  /** On a task of a test run: what it finishes with instead of running (no call, no child run). */
  mock?: TaskMock;
  /** Set with the result of a task that finished with its mock. */
  mocked?: true;
  /** On a task that waits (status `waiting`), or waited: for what, since and until when. */
  wait?: TaskWait;
  /** On an `approval` task once it waits: its question, its token's hash and, once given, its answer. */
  approval?: ApprovalState;
  /** Audit entries written with a change of this task (an approval's answer), not yet in the log. */
  audit_pending?: AuditEntry[];
}

/** The reference an SQS message carries: never outputs or alerts. */
export interface TaskMessage {
  v: 1;
  tenant_code: string;
  peid: string;
  task_id: string;
  attempt: number;
  /** A copy sent again by per-tenant fairness (lib/engine/fairness.ts); the engine ignores it. */
  deferred?: true;
  /** Sent by a durable timer (lib/engine/timers.ts): what its arrival means (docs/durable-waits.md). */
  timer?: TimerKind;
}

/** The key of one task of one run. */
export function taskKey(peid: string, taskId: string): string {
  return `${peid}:${taskId}`;
}

/** The task id of item `index` of the loop task `taskId` (never a valid playbook task id). */
export function itemTaskId(taskId: string, index: number): string {
  return `${taskId}[${index}]`;
}
