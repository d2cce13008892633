/**
 * Tasks in status `waiting` (docs/approvals.md, docs/durable-waits.md): approvals waiting for an
 * answer, long delays waiting for their time. Each way out of `waiting` is one conditional update
 * of the task document, so exactly one of the answers, the timeout and a cancellation wins.
 */
import type { ApprovalAnswer, ApprovalState, NotifyResult, TaskWait } from '../../domain/approval.js';
import type { AuditEntry } from '../../domain/audit.js';
import type { RunRef, TaskRecord } from '../model.js';

/** A task as the wait use cases see it: never its output, item value or token. */
export type WaitingTask = Pick<
  TaskRecord,
  | 'peid'
  | 'tenant_code'
  | 'task_seq'
  | 'task_id'
  | 'type'
  | 'def'
  | 'status'
  | 'attempts'
  | 'error'
  | 'started_at'
  | 'finished_at'
  | 'duration_ms'
  | 'updateddate'
  | 'wait'
> & { approval?: Omit<ApprovalState, 'token_hash'> };

/** A task reference inside a run. */
export interface TaskRef extends RunRef {
  task_id: string;
}

/** The cursor of the approvals list: the last item's wait start and task key. */
export interface WaitingCursor {
  since: number;
  key: string;
}

export interface WaitStore {
  /** One task of a run, or null (unknown run or task, or another tenant's). */
  getTask(ref: TaskRef): Promise<WaitingTask | null>;
  /** The approval task whose callback token has this SHA-256, or null (any tenant: the token is the credential). */
  findByTokenHash(tokenHash: string): Promise<WaitingTask | null>;
  /**
   * Records an answer, in one conditional update: only an approval still waiting whose deadline is
   * after `now` (and, with `tokenHash`, whose token that is) moves to `queued` with the answer;
   * `audit` is written pending with it. The task after the change, or null when nothing matched.
   */
  recordAnswer(
    ref: TaskRef,
    guard: { now: number; tokenHash?: string },
    answer: ApprovalAnswer,
    audit?: AuditEntry,
  ): Promise<WaitingTask | null>;
  /** The timeout's transition: an approval still waiting at `attempt`, its deadline reached at `now`, moves to `queued` with `answer`. */
  recordTimeout(ref: TaskRef, attempt: number, now: number, answer: ApprovalAnswer): Promise<WaitingTask | null>;
  /** A delay still waiting at `attempt`, its time reached at `now`, moves to `queued`. */
  endDelay(ref: TaskRef, attempt: number, now: number): Promise<WaitingTask | null>;
  /**
   * Records that a claimed task now waits: `running` under `claimToken` moves to `waiting` with its
   * wait (and, for an approval, its question and token hash), the claim released. False when the
   * claim is no longer held (another worker took the attempt over).
   */
  startWaiting(
    ref: TaskRef,
    claimToken: string,
    wait: TaskWait,
    approval: ApprovalState | undefined,
    now: number,
  ): Promise<boolean>;
  /** Records how an approval's notify request went. */
  recordNotify(ref: TaskRef, result: NotifyResult): Promise<void>;
  /** The tenant's approvals waiting for an answer, oldest first. */
  listWaiting(tenant_code: string, query: { limit: number; after?: WaitingCursor }): Promise<WaitingTask[]>;
}
