/**
 * What the engine needs from the outside world. Adapters in lib/adapters
 * implement these against MongoDB, SQS, DynamoDB and HTTP; the engine never
 * imports an SDK or a driver.
 */
import type { AuditEntry } from '../domain/audit.js';
import type { TaskStatus } from '../domain/statuses.js';
import type { RunMode, TriggerType } from '../domain/triggers.js';
import type { ExecutionRecord, StoredPlaybook, TaskError, TaskMessage, TaskRecord } from './model.js';
import type { TaskReset } from './redrive.js';

export interface RunRef {
  tenant_code: string;
  peid: string;
}

export interface ClaimRequest extends RunRef {
  task_id: string;
  attempt: number;
}

/** The final (or retry) state of one claimed task, written in one batch. */
export interface TaskResultWrite extends RunRef {
  task_id: string;
  status: Extract<TaskStatus, 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'queued'>;
  output_json: string | null;
  truncated: boolean;
  error: TaskError | null;
  finished_at: number | null;
  duration_ms: number | null;
  /** The result is a test run's mock (recorded as `mocked: true`). */
  mocked?: true;
}

/** A pending task moving to queued (ready) or skipped, claimed atomically. */
export interface PendingTransition extends RunRef {
  task_id: string;
  to: 'queued' | 'skipped';
}

/** The slice of a task the fan-in needs. */
export type TaskState = Pick<TaskRecord, 'peid' | 'task_id' | 'status' | 'attempts' | 'def' | 'dependents' | 'type'> &
  Partial<Pick<TaskRecord, 'claim'>>;

/** The state of one for_each item, as the reaper, redrive and readers need it (no output, value or definition). */
export type ItemState = Pick<
  TaskRecord,
  | 'peid'
  | 'tenant_code'
  | 'task_seq'
  | 'task_id'
  | 'type'
  | 'status'
  | 'attempts'
  | 'claim'
  | 'error'
  | 'started_at'
  | 'finished_at'
  | 'duration_ms'
  | 'updateddate'
  | 'child_peid'
> & { item_of: string; item_index: number };

/** A sub-playbook run as its parent's end sees it. */
export type ChildRunState = Pick<ExecutionRecord, 'peid' | 'tenant_code' | 'execution_status' | 'createddate'> & {
  parent: NonNullable<ExecutionRecord['parent']>;
};

/**
 * A page of a tenant's runs, newest first. At most one of playbook_name, alert_id, trigger and
 * mode (each served by an index of its own, status folded in); status, since (inclusive) and
 * until (exclusive) combine with any of them.
 */
export interface ExecutionQuery {
  status?: ExecutionRecord['execution_status'];
  playbook_name?: string;
  alert_id?: string;
  trigger?: TriggerType;
  mode?: RunMode;
  since?: number;
  until?: number;
  limit: number;
  before?: { createddate: number; peid: string };
}

export interface RunStore {
  /**
   * Writes a new run: the execution document and all its task documents. False when an
   * execution with that peid already exists (a sub-playbook start that is being retried).
   */
  insertRun(exec: ExecutionRecord, tasks: TaskRecord[]): Promise<boolean>;
  /** Records that a claimed task now waits for the child run `childPeid` (releases its claim). */
  markWaiting(ref: RunRef, taskId: string, childPeid: string, token: string, now: number): Promise<boolean>;
  getExecution(ref: RunRef): Promise<ExecutionRecord | null>;
  /**
   * A run's graph tasks in task_seq order, never its loop items (at most 200 documents); with
   * `outputs: false` their outputs are not read (`output_json` is null).
   */
  listGraphTasks(ref: RunRef, opts: { outputs: boolean }): Promise<TaskRecord[]>;
  /** The states of every loop item of a run (however many and large), by loop and position. */
  listItemStates(ref: RunRef): Promise<ItemState[]>;
  /** The sub-playbook runs started by tasks of the given runs (any status). */
  childRuns(parents: RunRef[]): Promise<ChildRunState[]>;
  /**
   * Adds `units` to the work used by the tree of the top-level run `root` unless that would
   * pass `budget`; false (nothing added) when it would.
   */
  chargeWork(root: RunRef, units: number, budget: number): Promise<boolean>;
  listExecutions(tenant_code: string, query: ExecutionQuery): Promise<ExecutionRecord[]>;
  /**
   * Atomically moves claimable tasks to running under `token`; returns how many claims
   * matched (losers are found by reading back).
   */
  claimTasks(claims: ClaimRequest[], token: string, leaseUntil: number, now: number): Promise<number>;
  /**
   * The executions and every graph task of the given runs (one query per collection),
   * plus the for_each items named in `itemKeys` (items are never loaded wholesale).
   */
  loadRuns(refs: RunRef[], itemKeys?: string[]): Promise<{ executions: ExecutionRecord[]; tasks: TaskRecord[] }>;
  /** A fresh, light read of the states of the given graph tasks (by key, so index-served everywhere). */
  taskStates(tasks: Array<RunRef & { task_id: string }>): Promise<TaskState[]>;
  /** Writes the items of an expanded for_each task; items that exist already are kept. */
  insertItems(items: TaskRecord[]): Promise<void>;
  /** Records that a claimed for_each task now waits for `total` items (releases its claim). */
  markExpanded(ref: RunRef, taskId: string, total: number, token: string, now: number): Promise<boolean>;
  /** Removes finished item positions from the loop task's open set; returns the loop task after. */
  closeItems(ref: RunRef, taskId: string, indices: number[], now: number): Promise<TaskRecord | null>;
  /** The items of a loop task in order (status, output and error only). */
  loadItems(
    ref: RunRef,
    taskId: string,
  ): Promise<Array<Pick<TaskRecord, 'item_index' | 'status' | 'output_json' | 'error'>>>;
  /**
   * Writes the result of a loop task whose items are all finished (or, with `evenIfOpen`,
   * of one whose failed item ends the run), exactly once; true if this call did.
   */
  finishLoop(
    ref: RunRef,
    taskId: string,
    result: Omit<TaskResultWrite, keyof RunRef | 'task_id'>,
    now: number,
    evenIfOpen?: boolean,
  ): Promise<boolean>;
  /** One unordered bulk write of every result of a batch; only writes tasks still held by `token`. */
  writeTaskResults(writes: TaskResultWrite[], token: string, now: number): Promise<void>;
  /** Applies pending->queued/skipped transitions; returns the task keys this call won. */
  transitionPending(transitions: PendingTransition[], token: string, now: number): Promise<Set<string>>;
  /** Removes terminal task ids from the run's open set; returns the execution after the change. */
  closeTasks(ref: RunRef, taskIds: string[], now: number): Promise<ExecutionRecord | null>;
  /**
   * Moves a running execution to a terminal status, exactly once; true if this call did it.
   * `audit` is written pending on the execution in the same write (lib/engine/audit.ts).
   */
  finishRun(
    ref: RunRef,
    status: 'completed' | 'failed' | 'cancelled',
    now: number,
    createddate: number,
    error?: TaskError,
    audit?: AuditEntry,
  ): Promise<boolean>;
  /** Cancels every pending and queued task of the given runs (and tasks waiting on items or child runs). */
  cancelOpenTasks(refs: RunRef[], now: number): Promise<void>;
  /** Moves the given runs, those still running, to cancelled with `error` (one bulk write). */
  cancelRuns(runs: Array<RunRef & { createddate: number }>, now: number, error: TaskError): Promise<void>;
  /** Resets tasks (and loop items) for a redrive: outputs, errors and attempts cleared. */
  resetTasks(ref: RunRef, resets: TaskReset[], now: number): Promise<void>;
  /**
   * Moves a failed/cancelled execution back to running as `attempt`, with `openTasks`
   * open and its previous outcome appended to history; false if it changed meanwhile.
   * `audit` is written pending on the execution in the same write.
   */
  reopenRun(
    ref: RunRef,
    previous: ExecutionRecord,
    openTasks: string[],
    attempt: number,
    now: number,
    audit?: AuditEntry,
  ): Promise<boolean>;
  /** Removes a run that could not be started (compensation); throws if it could not. */
  deleteRun(ref: RunRef): Promise<void>;
}

export interface PlaybookListQuery {
  status?: StoredPlaybook['status'];
  category_id?: string;
  /** Names strictly after this one (the previous page's last name). */
  after?: string;
  limit: number;
}

/** A playbook without its task list (list pages stay small whatever the definitions weigh). */
export type PlaybookSummary = Omit<StoredPlaybook, 'tasks'>;

/** One version in a playbook's history. */
export type PlaybookVersionSummary = Pick<StoredPlaybook, 'version' | 'updateddate' | 'updated_by'>;

export interface PlaybookStore {
  /**
   * Inserts a new playbook; ConflictError if the tenant already has that name. `audit` is
   * written pending on the playbook in the same insert (lib/engine/audit.ts).
   */
  create(playbook: StoredPlaybook, audit?: AuditEntry): Promise<void>;
  /** The tenant's current playbook of that name (a deleted one is not). */
  findByName(tenant_code: string, name: string): Promise<StoredPlaybook | null>;
  /** The tenant's playbooks by name, at most `limit`. */
  list(tenant_code: string, query: PlaybookListQuery): Promise<PlaybookSummary[]>;
  /**
   * Archives `current` in the version history, then replaces it with `next` (and `audit`,
   * pending) only if it is still at `current.version`; false when another writer got there
   * first (nothing replaced).
   */
  replace(current: StoredPlaybook, next: StoredPlaybook, audit?: AuditEntry): Promise<boolean>;
  /**
   * Archives `current`, then deletes it only if still at `current.version`; false on a lost
   * race. With `audit`, the deletion is a tombstone carrying the entry (gone for every
   * reader at once), removed when the entry is published.
   */
  remove(current: StoredPlaybook, audit?: AuditEntry): Promise<boolean>;
  /** Archived versions of playbook `pid` below `before`, newest first, at most `limit`. */
  listVersions(
    tenant_code: string,
    pid: string,
    query: { before: number; limit: number },
  ): Promise<PlaybookVersionSummary[]>;
  /** One archived version of playbook `pid`, or null. */
  getVersion(tenant_code: string, pid: string, version: number): Promise<StoredPlaybook | null>;
}

export interface OutgoingTaskMessage {
  message: TaskMessage;
  delaySeconds: number;
}

export interface TaskQueue {
  /** Sends every message (batched); throws ServiceUnavailableError if any could not be sent. */
  send(messages: OutgoingTaskMessage[]): Promise<void>;
}

export interface IntegrationRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeoutMs: number;
}

export interface IntegrationResponse {
  status: number;
  body: unknown;
}

/** Failure of an integration call, with a stable code and whether a retry may help. */
export class IntegrationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'IntegrationError';
  }
}

export interface IntegrationClient {
  request(req: IntegrationRequest): Promise<IntegrationResponse>;
}

/** Integration secrets by name, scoped to a tenant (SSM Parameter Store SecureStrings in AWS). */
export interface SecretResolver {
  /** The value of every name for the tenant; throws SecretError. */
  resolve(tenant_code: string, names: string[]): Promise<Record<string, string>>;
}

/**
 * A secret that does not exist or is used other than directly (not retryable), or a secret
 * store that did not answer (retryable).
 */
export class SecretError extends Error {
  constructor(
    readonly code: 'SECRET_NOT_FOUND' | 'SECRET_MISUSE' | 'SECRETS_UNAVAILABLE',
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SecretError';
  }
}

export interface Idempotency {
  /**
   * Runs `fn` once per (scope, key, payload); repeats return the first result.
   * `remainingTimeMs` bounds how long an in-progress record blocks a retry.
   */
  once<T extends object>(
    scope: string,
    key: string,
    payload: unknown,
    fn: () => Promise<T>,
    lambdaContext?: { getRemainingTimeInMillis(): number },
  ): Promise<T>;
}

/** One row of a tenant's top-playbooks report. */
export interface TopPlaybookItem {
  pid: string;
  name: string;
  /** Mean playbook_runtime (ms) of the completed runs in the window. */
  average: number;
  count: number;
}

/** When a top-playbooks computation ran and over which window. */
export interface TopPlaybooksRun {
  generated_at: number;
  window_days: number;
}

export interface TopPlaybooksReport extends TopPlaybooksRun {
  items: TopPlaybookItem[];
}

/** A tenant's stored report (null if it never had one) and the last computation (null if none ran). */
export interface StoredTopPlaybooks {
  report: TopPlaybooksReport | null;
  last: TopPlaybooksRun | null;
}

export interface AnalyticsStore {
  /** Per tenant, the `limit` playbooks with the highest average runtime of runs completed since `since`. */
  topPlaybooksByTenant(since: number, limit: number): Promise<Map<string, TopPlaybookItem[]>>;
  /** Stores every tenant's report (tenants absent from `reports` get none) and the run marker. */
  saveTopPlaybooks(reports: Map<string, TopPlaybookItem[]>, run: TopPlaybooksRun): Promise<void>;
  /** The tenant's report and the last run marker, in one read. */
  loadTopPlaybooks(tenant_code: string): Promise<StoredTopPlaybooks>;
}

/** The same reports in a faster store; best-effort: never throws. */
export interface AnalyticsCache {
  saveTopPlaybooks(reports: Map<string, TopPlaybookItem[]>, run: TopPlaybooksRun): Promise<void>;
  /** undefined when the cache cannot answer (unavailable, or no run marker): read the store. */
  loadTopPlaybooks(tenant_code: string): Promise<StoredTopPlaybooks | undefined>;
}
