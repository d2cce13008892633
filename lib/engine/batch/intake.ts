/**
 * The first stage of a batch: its messages parsed and grouped by task attempt, then the bulk
 * claim, sent together with the read of the runs involved (and, only where needed, one read of
 * their task states after it).
 */
import { logger } from '../../observability.js';
import {
  type ExecutionRecord,
  isGraphTask,
  isItemId,
  type RunRef,
  type TaskMessage,
  type TaskRecord,
  taskKey,
} from '../model.js';
import type { RunGraph, RunGraphs } from '../ports/run-graphs.js';
import type { LoadedRuns, TaskClaims, TaskStateRecord } from '../ports/task-claims.js';
import { parseTaskMessage } from '../task-messages.js';
import { graphOfTasks, nothingEnded, type RunView, viewOf } from './run-view.js';

export interface BatchItem {
  messageId: string;
  body: string;
}

/** One task attempt of the batch, and the messages that asked for it (duplicates share it). */
export interface Job {
  msg: TaskMessage;
  /** The task's key (`peid:task_id`). */
  key: string;
  messageIds: string[];
}

/** The batch's jobs, and the messages that are not task messages (never processable). */
export function parseBatch(items: BatchItem[]): { jobs: Job[]; unparsable: string[] } {
  const unparsable: string[] = [];
  const jobs = new Map<string, Job>();
  for (const item of items) {
    const msg = parseTaskMessage(item.body);
    if (!msg) {
      // Never processable: let it reach the DLQ through maxReceiveCount.
      logger.error('unparsable task message', { messageId: item.messageId });
      unparsable.push(item.messageId);
      continue;
    }
    const id = `${taskKey(msg.peid, msg.task_id)}#${msg.attempt}`;
    const existing = jobs.get(id);
    if (existing) existing.messageIds.push(item.messageId);
    else jobs.set(id, { msg, key: taskKey(msg.peid, msg.task_id), messageIds: [item.messageId] });
  }
  return { jobs: [...jobs.values()], unparsable };
}

/** A batch's runs as the claim left them: their records, a view of each, and every task the batch names or reads. */
export interface Loaded {
  execs: Map<string, ExecutionRecord>;
  views: Map<string, RunView>;
  /** By task key: every graph task of the runs, and the for_each items the batch names. */
  tasks: Map<string, TaskRecord>;
}

/**
 * Claims every job's attempt under `token` while the runs' records (and the named loop items)
 * are read. When every claim matched (the usual first delivery), a run of which nothing has ended
 * needs no more: its graph comes from the pinned version's cache (`graphs`) and its claimed tasks
 * are what the claim wrote. Other runs' task states are read once, after the claim, without their
 * definitions when the version is cached, whole otherwise. Duplicates, redeliveries and takeovers
 * read everything again after the claim, to see who holds what.
 */
export async function claimAndLoad(
  deps: { runs: TaskClaims; graphs?: RunGraphs },
  jobs: Job[],
  token: string,
  leaseUntil: number,
  now: number,
): Promise<Loaded> {
  const claims = jobs.map((j) => j.msg);
  const refs = uniqueRefs(claims);
  // for_each items are read by key; a run's graph tasks are read whole (or come from the cache).
  const itemKeys = jobs.filter((j) => isItemId(j.msg.task_id)).map((j) => j.msg);
  const [matched, executions, items] = await Promise.all([
    deps.runs.claimTasks(claims, token, leaseUntil, now),
    deps.runs.loadExecutions(refs),
    deps.runs.loadTasks(itemKeys),
  ]);
  const itemSet = new Set(items.map((t) => taskKey(t.peid, t.task_id)));
  const settled =
    matched === claims.length &&
    new Set(jobs.map((j) => j.key)).size === jobs.length &&
    itemKeys.every((k) => itemSet.has(taskKey(k.peid, k.task_id)));
  if (!settled)
    return fromFullRead(
      deps,
      await deps.runs.loadRuns(
        refs,
        itemKeys.map((k) => taskKey(k.peid, k.task_id)),
      ),
    );

  const graphs = new Map<string, RunGraph | undefined>(
    await Promise.all(executions.map(async (e) => [e.peid, await deps.graphs?.get(e)] as const)),
  );
  const jobsOf = (peid: string) => jobs.filter((j) => j.msg.peid === peid);
  const fresh = (e: ExecutionRecord) => {
    const graph = graphs.get(e.peid);
    return (
      graph !== undefined &&
      e.mode !== 'test' &&
      nothingEnded(e, graph) &&
      jobsOf(e.peid).every((j) => j.msg.attempt === 1 && !isItemId(j.msg.task_id))
    );
  };
  const toRead = executions.filter((e) => !fresh(e));
  const uncached = toRead.filter((e) => graphs.get(e.peid) === undefined);
  let read: Loaded | undefined;
  let states: TaskStateRecord[] = [];
  if (uncached.length > 0) read = fromFullRead(deps, await deps.runs.loadRuns(toRead.map(refOf)));
  else if (toRead.length > 0) states = await deps.runs.loadGraphStates(toRead.map(refOf));

  const out: Loaded = { execs: new Map(), views: new Map(), tasks: new Map() };
  for (const e of executions) {
    const view =
      read?.views.get(e.peid) ??
      viewOf(
        e,
        graphs.get(e.peid) as RunGraph,
        toRead.includes(e) ? states.filter((s) => s.peid === e.peid) : undefined,
      );
    addView(out, view);
  }
  // What the claim wrote, on what was laid out or read before it.
  const claimed = withClaims([...out.tasks.values(), ...items], jobs, token, leaseUntil, now);
  for (const t of claimed) {
    out.tasks.set(taskKey(t.peid, t.task_id), t);
    if (isGraphTask(t)) out.views.get(t.peid)?.tasks.set(t.task_id, t);
  }
  return out;
}

function refOf(e: ExecutionRecord): RunRef {
  return { tenant_code: e.tenant_code, peid: e.peid };
}

function addView(out: Loaded, view: RunView): void {
  out.execs.set(view.exec.peid, view.exec);
  out.views.set(view.exec.peid, view);
  for (const t of view.tasks.values()) out.tasks.set(taskKey(t.peid, t.task_id), t);
}

/** Views of runs read whole (records, graph tasks with their definitions, items); their graphs remembered. */
function fromFullRead(deps: { graphs?: RunGraphs }, loaded: LoadedRuns): Loaded {
  const out: Loaded = { execs: new Map(), views: new Map(), tasks: new Map() };
  for (const e of loaded.executions) {
    const graphTasks = loaded.tasks.filter((t) => t.peid === e.peid && isGraphTask(t));
    const graph = graphOfTasks(graphTasks);
    if (graph.size > 0) deps.graphs?.remember(e, graph);
    addView(out, viewOf(e, graph, graphTasks));
  }
  for (const t of loaded.tasks) if (!isGraphTask(t)) out.tasks.set(taskKey(t.peid, t.task_id), t);
  return out;
}

/** The tasks of `jobs` among `tasks` as the claim left them: running under `token` for the job's attempt. */
function withClaims(tasks: TaskRecord[], jobs: Job[], token: string, until: number, now: number): TaskRecord[] {
  const attempts = new Map(jobs.map((j) => [j.key, j.msg.attempt]));
  const out: TaskRecord[] = [];
  for (const t of tasks) {
    const attempt = attempts.get(taskKey(t.peid, t.task_id));
    if (attempt === undefined) continue;
    out.push({
      ...t,
      status: 'running' as const,
      attempts: attempt,
      claim: { token, until },
      started_at: now,
      updateddate: now,
    });
  }
  return out;
}
function uniqueRefs(msgs: TaskMessage[]): RunRef[] {
  const seen = new Map<string, RunRef>();
  for (const m of msgs) seen.set(`${m.tenant_code}/${m.peid}`, { tenant_code: m.tenant_code, peid: m.peid });
  return [...seen.values()];
}
