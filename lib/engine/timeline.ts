/** The timeline of one of a tenant's runs (see lib/domain/timeline.ts for what it computes). */
import { buildTimeline, type Timeline } from '../domain/timeline.js';
import { NotFoundError } from '../errors.js';
import type { RunRef } from './model.js';
import type { RunRecords } from './ports/run-records.js';
import { readRun } from './runs.js';

/** The run's timeline at `now`; 404 for an unknown run or another tenant's, exactly like getExecution. */
export async function getTimeline(runs: RunRecords, ref: RunRef, now: number): Promise<Timeline> {
  // Neither outputs nor loop items: a for_each task's bar spans its items.
  const { exec, tasks } = await readRun(runs, ref, { outputs: false, items: false });
  if (!exec) throw new NotFoundError(`execution '${ref.peid}' not found`);
  return buildTimeline(
    {
      peid: exec.peid,
      playbook_name: exec.playbook_name,
      execution_status: exec.execution_status,
      createddate: exec.createddate,
      completeddate: exec.completeddate ?? null,
      error: exec.error ?? null,
    },
    tasks.map((t) => ({
      task_seq: t.task_seq,
      task_id: t.task_id,
      type: t.type,
      status: t.status,
      attempts: t.attempts,
      depends_on: t.def.depends_on ?? [],
      started_at: t.started_at ?? null,
      finished_at: t.finished_at ?? null,
      duration_ms: t.duration_ms ?? null,
      error: t.error ?? null,
      wait: t.wait,
      ...(t.undo
        ? {
            undo: {
              status: t.undo.state,
              by: t.undo.by,
              undo_at: t.undo.undo_at,
              started_at: t.undo.started_at,
              finished_at: t.undo.finished_at,
              attempts: t.undo.attempts,
              error: t.undo.error,
            },
          }
        : {}),
    })),
    now,
  );
}
