/** Writing and reading runs as a whole: their execution documents and their tasks. */
import type { RunMode, TriggerType } from '../../domain/triggers.js';
import type { ExecutionRecord, RunRef, TaskRecord } from '../model.js';

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
  | 'wait'
> & { item_of: string; item_index: number };

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

export interface RunRecords {
  /**
   * Writes a new run: the execution document and all its task documents. False when an
   * execution with that peid already exists (a sub-playbook start that is being retried).
   */
  insertRun(exec: ExecutionRecord, tasks: TaskRecord[]): Promise<boolean>;
  /** Removes a run that could not be started (compensation); throws if it could not. */
  deleteRun(ref: RunRef): Promise<void>;
  getExecution(ref: RunRef): Promise<ExecutionRecord | null>;
  listExecutions(tenant_code: string, query: ExecutionQuery): Promise<ExecutionRecord[]>;
  /**
   * A run's graph tasks in task_seq order, never its loop items (at most 200 documents) nor an
   * approval's token hash; with `outputs: false` their outputs are not read (`output_json` is null).
   */
  listGraphTasks(ref: RunRef, opts: { outputs: boolean }): Promise<TaskRecord[]>;
  /** The states of every loop item of a run (however many and large), by loop and position. */
  listItemStates(ref: RunRef): Promise<ItemState[]>;
}
