/**
 * Starting a run: load the active playbook, write the execution and all its
 * task documents (pinned to the playbook version), then enqueue every root
 * task, 10 per SendMessageBatch. If the queue refuses, the run is marked
 * failed (never left "running" with nothing queued) and the caller gets a 503.
 */
import { buildGraph } from '../domain/graph.js';
import type { RunMode, RunTrigger } from '../domain/triggers.js';
import { NotFoundError, ServiceUnavailableError, UnprocessableError } from '../errors.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { recordAudit } from './audit.js';
import { executionSource, runStarted } from './audit-entries.js';
import { type MockInput, planMocks } from './mocks.js';
import { type ExecutionRecord, newTaskRecord, type StoredPlaybook, type TaskMock, type TaskRecord } from './model.js';
import type { AuditOutbox } from './ports/audit.js';
import type { PlaybookSource } from './ports/playbook-source.js';
import type { RunEnds } from './ports/run-ends.js';
import type { RunRecords } from './ports/run-records.js';
import type { OutgoingTaskMessage, TaskQueue } from './ports/task-queue.js';
import { endRun } from './run-lifecycle.js';
import { initialDelaySeconds } from './task-messages.js';

export interface StartRunDeps {
  playbooks: PlaybookSource;
  runs: Pick<RunRecords, 'insertRun' | 'deleteRun'> & RunEnds;
  queue: TaskQueue;
  clock: () => number;
  newId: () => string;
  audit: AuditOutbox;
}

export interface StartRunInput {
  playbook_name: string;
  alert_id: string;
  alert: Record<string, unknown>;
  /** Default `live`. */
  mode?: RunMode;
  /** Test runs only: what named tasks finish with instead of running. */
  mocks?: Record<string, MockInput>;
}

/** How a run is recorded beyond its playbook and alert: what started it, its mode and its mocks. */
export interface RunOptions {
  trigger?: RunTrigger;
  mode?: RunMode;
  /** Task id -> mock (already checked against the playbook). */
  mocks?: ReadonlyMap<string, TaskMock>;
}

export interface StartedRun {
  peid: string;
  execution_status: 'running';
}

/** Builds the execution and task documents of a new run of `playbook`. */
export function planRun(
  playbook: StoredPlaybook,
  input: StartRunInput,
  caller: { tenant_code: string; sub: string },
  peid: string,
  now: number,
  options: RunOptions = {},
): { exec: ExecutionRecord; tasks: TaskRecord[]; roots: OutgoingTaskMessage[] } {
  const graph = buildGraph(playbook.tasks);
  const roots = new Set(graph.roots);
  const mockOf = (id: string) => {
    const mock = options.mocks?.get(id);
    return mock ? { mock } : {};
  };
  const tasks: TaskRecord[] = playbook.tasks.map((def) => ({
    ...newTaskRecord(
      {
        peid,
        tenant_code: caller.tenant_code,
        alert_id: input.alert_id,
        task_seq: graph.seq.get(def.id) ?? 0,
        task_id: def.id,
        type: def.type,
        def,
        dependents: graph.dependents.get(def.id) ?? [],
        status: roots.has(def.id) ? 'queued' : 'pending',
      },
      now,
    ),
    ...mockOf(def.id),
  }));
  const exec: ExecutionRecord = {
    peid,
    tenant_code: caller.tenant_code,
    pid: playbook.pid,
    playbook_name: playbook.name,
    playbook_version: playbook.version,
    alert_id: input.alert_id,
    uid: caller.sub,
    alert_json: JSON.stringify(input.alert),
    execution_status: 'running',
    createddate: now,
    updateddate: now,
    completeddate: null,
    playbook_runtime: null,
    open_tasks: playbook.tasks.map((t) => t.id),
    task_ends: {},
    tasks_total: playbook.tasks.length,
    error: null,
    // The run's own tasks, the first units of its work budget (work-budget.ts).
    work_used: playbook.tasks.length,
    mode: options.mode ?? 'live',
    trigger: options.trigger ?? { type: 'api' },
  };
  const rootMessages = tasks
    .filter((t) => t.status === 'queued')
    .map((t) => ({
      message: { v: 1 as const, tenant_code: caller.tenant_code, peid, task_id: t.task_id, attempt: 1 },
      delaySeconds: initialDelaySeconds(t.def),
    }));
  return { exec, tasks, roots: rootMessages };
}

/** How long a start that could not record its run keeps trying to remove what it wrote. */
const COMPENSATION_BUDGET_MS = 10_000;

async function removeUnstartedRun(deps: StartRunDeps, ref: { tenant_code: string; peid: string }): Promise<void> {
  const until = deps.clock() + COMPENSATION_BUDGET_MS;
  for (let delay = 200; ; delay *= 2) {
    try {
      await deps.runs.deleteRun(ref);
      return;
    } catch (err) {
      if (deps.clock() + delay > until || delay > COMPENSATION_BUDGET_MS) {
        logger.error('could not remove a run whose start failed', { peid: ref.peid, error: err as Error });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Starts a run of the caller's active playbook; answers with its peid. `trigger` says what
 * started it (the API by default); a test run's mocks are checked against the playbook's tasks.
 */
export async function startRun(
  deps: StartRunDeps,
  caller: { tenant_code: string; sub: string },
  input: StartRunInput,
  trigger: RunTrigger = { type: 'api' },
): Promise<StartedRun> {
  const playbook = await deps.playbooks.getByName(caller.tenant_code, input.playbook_name);
  if (!playbook) throw new NotFoundError(`playbook '${input.playbook_name}' not found`);
  if (playbook.status !== 'active') {
    throw new UnprocessableError(`playbook '${input.playbook_name}' is inactive`, [
      { path: 'playbook_name', message: 'playbook is inactive' },
    ]);
  }
  const mode = input.mode ?? 'live';
  const mocks = planMocks(playbook, mode, input.mocks);
  const now = deps.clock();
  const peid = deps.newId();
  const { exec, tasks, roots } = planRun(playbook, input, caller, peid, now, { trigger, mode, mocks });
  const ref = { tenant_code: caller.tenant_code, peid };
  const entry = runStarted(exec, caller.sub);
  try {
    await deps.runs.insertRun({ ...exec, audit_pending: [entry] }, tasks);
  } catch (err) {
    // The writes may have been applied although the driver reported a failure (a connection
    // cut mid-answer): remove whatever was written, retrying while the database comes back.
    await removeUnstartedRun(deps, ref);
    throw new ServiceUnavailableError('could not record the run, try again', { cause: err });
  }
  logger.appendKeys({ peid });
  // The entry is copied into the audit log while the roots are sent (it never throws).
  const audited = recordAudit(deps.audit, executionSource(ref), entry);
  try {
    await deps.queue.send(roots);
  } catch (err) {
    await audited;
    const failedAt = deps.clock();
    try {
      await endRun(deps, exec, 'failed', failedAt, {
        code: 'ENQUEUE_FAILED',
        message: 'the task queue refused the run',
      });
    } catch (markErr) {
      // The reaper fails runs without progress; log so the operator can correlate.
      logger.error('could not mark an unqueued run failed', { error: markErr as Error });
    }
    throw err instanceof ServiceUnavailableError
      ? err
      : new ServiceUnavailableError('the task queue is unavailable', { cause: err });
  }
  await audited;
  metrics.addMetric('RunsStarted', MetricUnit.Count, 1);
  return { peid, execution_status: 'running' };
}
