/** What readers of runs get: a run's summary, its tasks and their loop items, as the API answers them. */
import type { RunMode, RunTrigger } from '../domain/triggers.js';
import type { UndoView } from './containments.js';
import type { ExecutionRecord, RollbackMark } from './model.js';

export interface TaskView {
  task_seq: number;
  task_id: string;
  type: string;
  status: string;
  attempts: number;
  output: unknown;
  truncated: boolean;
  error: { code: string; message: string } | null;
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  /** For a for_each task: each item's state (their outputs are the task's output list). */
  items?: ItemView[];
  /** Present (true) when the output was left out to keep the answer within its size limit. */
  output_omitted?: true;
  /** A test run's task that finished with its mock instead of running. */
  mocked?: true;
  /**
   * A task that waits, or waited, durably (status `waiting`: an approval for its answer, a long
   * delay for its time): since when, until when (an approval's deadline), and when it ended.
   */
  wait?: { kind: 'approval' | 'delay'; since: number; until: number; ended_at: number | null };
  /** A succeeded task with an undo: its containment and its undo (docs/containment.md). */
  undo?: UndoView;
}

export interface ItemView {
  index: number;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
  duration_ms: number | null;
}

export interface ExecutionSummary {
  peid: string;
  pid: string;
  playbook_name: string;
  playbook_version: number;
  alert_id: string;
  uid: string;
  tenant_code: string;
  execution_status: ExecutionRecord['execution_status'];
  createddate: number;
  completeddate: number | null;
  playbook_runtime: number | null;
  error: { code: string; message: string } | null;
  /** 1, plus one per redrive. */
  attempt: number;
  /** How earlier attempts ended (present after a redrive). */
  history?: NonNullable<ExecutionRecord['history']>;
  mode: RunMode;
  trigger: RunTrigger;
  /** The run's last rollback (docs/containment.md). */
  rollback?: RollbackMark;
}

export interface ExecutionView extends ExecutionSummary {
  tasks: TaskView[];
  /** Present (true) when some task outputs were left out (those tasks say `output_omitted`). */
  outputs_omitted?: true;
  /** Present (true) when even without outputs the answer was too large: loop items were left out. */
  items_omitted?: true;
}
