/**
 * The timeline of one run: where each task sat in time, the run's critical path,
 * the time it spent waiting (for a person's answer or a durable timer) and the
 * engine's own overhead along it. Pure: it takes the run and its tasks as plain
 * values and a `now` for runs still in progress.
 */

/** What the timeline needs of the run. */
export interface TimelineRunInput {
  peid: string;
  playbook_name: string;
  execution_status: string;
  createddate: number;
  completeddate: number | null;
  error: { code: string; message: string } | null;
}

/** A task's containment and its undo, as the timeline shows them (docs/containment.md). */
export interface TimelineUndo {
  status: 'active' | 'undoing' | 'undone' | 'undo_failed';
  /** What started the undo: a rollback of the run, or its expiry (null while active). */
  by: 'rollback' | 'expiry' | null;
  /** When the undo runs by itself; null: only a rollback undoes it. */
  undo_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  attempts: number;
  error: { code: string; message: string } | null;
}

/** What the timeline needs of one task (the stored task record satisfies it). */
export interface TimelineTaskInput {
  task_seq: number;
  task_id: string;
  type: string;
  status: string;
  attempts: number;
  depends_on: readonly string[];
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  error: { code: string; message: string } | null;
  undo?: TimelineUndo;
  /** A durable wait (status `waiting`, or waited): an approval for its answer, a long delay for its time. */
  wait?: { kind: string; since: number; until: number; ended_at?: number } | undefined;
}

/** A task's durable wait on the timeline. */
export interface TimelineWait {
  kind: string;
  since: number;
  /** Its deadline (an approval's timeout) or the delay's end. */
  until: number;
  /** When it ended (answered, timed out, time reached); null while waiting, or if the task was cancelled waiting. */
  ended_at: number | null;
  /** Time spent waiting: since to ended_at, or to the cancellation, or to now while it waits. */
  ms: number;
}

export interface TimelineTask {
  task_seq: number;
  task_id: string;
  type: string;
  status: string;
  attempts: number;
  depends_on: string[];
  started_at: number | null;
  finished_at: number | null;
  /** Time spent executing the (last) attempt; null while it runs or when it never ran. */
  duration_ms: number | null;
  /** started_at - the run's createddate; null when the task never started. */
  offset_ms: number | null;
  critical: boolean;
  error: { code: string; message: string } | null;
  /** Its durable wait, if it waited (the task's own time, `duration_ms`, is only the attempt that applied the end). */
  wait: TimelineWait | null;
  /** A succeeded task with an undo: its containment and its undo (the bar shows it). */
  undo?: TimelineUndo;
}

export interface Timeline {
  peid: string;
  playbook_name: string;
  execution_status: string;
  createddate: number;
  completeddate: number | null;
  /** The `now` the figures of a running run were computed at. */
  generated_at: number;
  /** completeddate - createddate; now - createddate while the run is running. */
  run_ms: number;
  /** Tasks in task_seq order. */
  tasks: TimelineTask[];
  /** Task ids of the critical path, first to last. */
  critical_path: string[];
  /** Sum of the task time of the tasks on the critical path. */
  critical_path_task_ms: number;
  /** Sum of the durable waits (answers, timers) of the tasks on the critical path: neither task nor engine time. */
  critical_path_wait_ms: number;
  /** run_ms - critical_path_task_ms - critical_path_wait_ms: what the engine itself spent along the path. */
  engine_overhead_ms: number;
  error: { code: string; message: string } | null;
}

/** Task statuses after which a task never changes again. */
const TERMINAL = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

interface Timing {
  task: TimelineTaskInput;
  /** The task executed (an attempt was claimed). */
  started: boolean;
  /** When it stopped occupying the path: finished_at, or now while in progress; null if unknown. */
  end: number | null;
  /** Task time counted on the critical path. */
  taskMs: number;
}

/**
 * The task time of a task: its recorded `duration_ms` (the executing time of its last
 * attempt, without the engine's claim and result writes); for a task that started but
 * has no duration (a worker lost mid-task and reaped), finished_at - started_at; while
 * it is still running, now - started_at; 0 for a task that never started.
 */
function timingOf(task: TimelineTaskInput, now: number): Timing {
  const started = task.started_at !== null;
  const inProgress = started && task.finished_at === null && !TERMINAL.has(task.status);
  let end: number | null = task.finished_at;
  if (inProgress) end = now;
  else if (end === null && task.started_at !== null && task.duration_ms !== null) {
    end = task.started_at + task.duration_ms;
  }
  let taskMs = 0;
  if (task.started_at !== null) {
    if (task.status === 'running' && task.finished_at === null) taskMs = Math.max(0, now - task.started_at);
    else if (task.duration_ms !== null) taskMs = task.duration_ms;
    else if (task.finished_at !== null) taskMs = Math.max(0, task.finished_at - task.started_at);
  }
  return { task, started, end, taskMs };
}

/** A task's durable wait as of `now` (null if it never waited). */
export function waitOf(task: TimelineTaskInput, now: number): TimelineWait | null {
  const w = task.wait;
  if (!w) return null;
  const ended = w.ended_at ?? null;
  const stop = ended ?? (task.status === 'waiting' ? now : (task.finished_at ?? w.since));
  return { kind: w.kind, since: w.since, until: w.until, ended_at: ended, ms: Math.max(0, stop - w.since) };
}

/**
 * Orders candidates: a task that started beats one that never did (a skipped or
 * cancelled task is on the path only when nothing that ran could be); then the later
 * end; then the longer task time; then the earlier task_seq, so the result is stable.
 */
function better(a: Timing, b: Timing): boolean {
  if (a.started !== b.started) return a.started;
  const ae = a.end ?? Number.NEGATIVE_INFINITY;
  const be = b.end ?? Number.NEGATIVE_INFINITY;
  if (ae !== be) return ae > be;
  if (a.taskMs !== b.taskMs) return a.taskMs > b.taskMs;
  return a.task.task_seq < b.task.task_seq;
}

function pick(candidates: Timing[]): Timing | undefined {
  let best: Timing | undefined;
  for (const c of candidates) if (best === undefined || better(c, best)) best = c;
  return best;
}

/**
 * The critical path of a run: the chain of tasks that decided when it ended.
 *
 * It ends at the task that finished last (a task still running counts as finishing
 * `now`) and walks back, from each task, through the dependency that finished last
 * before the task started: the one that gated its start. A dependency that finished
 * after its dependent started (possible with `join: any`) did not gate it and is
 * taken only when no dependency finished before the start.
 *
 * Tasks that never started (skipped, or cancelled before running) have a task time of
 * 0 and are on the path only when unavoidable: when no task of the run (or no
 * dependency at a step) ever started. Tasks without any time (still pending) are
 * never on it.
 *
 * For a run that failed or was cancelled, tasks still running when the run ended do
 * not decide its end: the path ends at the last task that finished by `completeddate`
 * (all tasks are considered if none did, e.g. when clocks of two workers disagree).
 *
 * Returns the path first to last, the sum of its task times (see `timingOf`: a
 * retried task counts only its last attempt, so earlier attempts and backoff waits
 * fall into the engine overhead) and the sum of its tasks' durable waits (`waitOf`).
 */
export function criticalPath(
  run: Pick<TimelineRunInput, 'execution_status' | 'completeddate'>,
  tasks: readonly TimelineTaskInput[],
  now: number,
): { path: string[]; taskMs: number; waitMs: number } {
  const timings = tasks.map((t) => timingOf(t, now));
  const byId = new Map(timings.map((t) => [t.task.task_id, t]));
  let ends = timings.filter((t) => t.end !== null);
  const runEnd = run.completeddate;
  if (run.execution_status !== 'running' && run.execution_status !== 'completed' && runEnd !== null) {
    const within = ends.filter((t) => (t.end as number) <= runEnd);
    if (within.length > 0) ends = within;
  }
  let current = pick(ends);
  const reversed: Timing[] = [];
  const seen = new Set<string>();
  while (current !== undefined && !seen.has(current.task.task_id)) {
    seen.add(current.task.task_id);
    reversed.push(current);
    const deps = [...new Set(current.task.depends_on)]
      .map((id) => byId.get(id))
      .filter((d): d is Timing => d !== undefined && d.end !== null && !seen.has(d.task.task_id));
    const start = current.task.started_at;
    const gating = start === null ? deps : deps.filter((d) => (d.end as number) <= start);
    // Prefer a dependency that both ran and gated the start; then any that ran; then the rest.
    current =
      pick(gating.filter((d) => d.started)) ?? pick(deps.filter((d) => d.started)) ?? pick(gating) ?? pick(deps);
  }
  const path = reversed.reverse();
  return {
    path: path.map((t) => t.task.task_id),
    taskMs: path.reduce((sum, t) => sum + t.taskMs, 0),
    waitMs: path.reduce((sum, t) => sum + (waitOf(t.task, now)?.ms ?? 0), 0),
  };
}

/**
 * The timeline of a run (see `criticalPath` for the path). `run_ms` is the run's time
 * so far (completeddate - createddate once it ended), and `engine_overhead_ms` is
 * run_ms minus the critical path's task time and durable waits (a person's answer, a
 * timer: neither is the engine's doing): the time the engine itself spent along the path
 * (queueing and delivery, claims, result writes, fan-in, completing the run), plus the
 * retry waits of retried tasks on it and short delays (those the queue holds). For a
 * cancelled run it also includes the wait until the cancel.
 */
export function buildTimeline(run: TimelineRunInput, tasks: readonly TimelineTaskInput[], now: number): Timeline {
  const sorted = [...tasks].sort((a, b) => a.task_seq - b.task_seq);
  const run_ms = Math.max(0, (run.completeddate ?? now) - run.createddate);
  const { path, taskMs, waitMs } = criticalPath(run, sorted, now);
  const onPath = new Set(path);
  return {
    peid: run.peid,
    playbook_name: run.playbook_name,
    execution_status: run.execution_status,
    createddate: run.createddate,
    completeddate: run.completeddate,
    generated_at: now,
    run_ms,
    tasks: sorted.map((t) => ({
      task_seq: t.task_seq,
      task_id: t.task_id,
      type: t.type,
      status: t.status,
      attempts: t.attempts,
      depends_on: [...t.depends_on],
      started_at: t.started_at,
      finished_at: t.finished_at,
      duration_ms: t.duration_ms,
      offset_ms: t.started_at === null ? null : t.started_at - run.createddate,
      critical: onPath.has(t.task_id),
      error: t.error,
      wait: waitOf(t, now),
      ...(t.undo ? { undo: { ...t.undo } } : {}),
    })),
    critical_path: path,
    critical_path_task_ms: taskMs,
    critical_path_wait_ms: waitMs,
    engine_overhead_ms: run_ms - taskMs - waitMs,
    error: run.error,
  };
}
