/**
 * The fan-in: when tasks finish, their dependents are decided from a fresh read of their
 * dependencies' states and moved pending -> queued | skipped by atomic claims (skips cascade in
 * the same step). A task redelivered already finished drives its fan-in again: a dependent left
 * queued but never started, or claimed by an invocation that died, is sent again.
 */
import { decideReadiness } from '../../domain/graph.js';
import { isTerminalTask, type TaskStatus } from '../../domain/statuses.js';
import { type ExecutionRecord, isGraphTask, leaseExpired, type RunRef, type TaskRecord, taskKey } from '../model.js';
import type { PendingTransition, TaskClaims, TaskState } from '../ports/task-claims.js';
import type { OutgoingTaskMessage } from '../ports/task-queue.js';
import { initialDelaySeconds, taskMessage } from '../task-messages.js';

/** Task ids by run. */
export type IdsByRun = Map<string, Set<string>>;

/** The ids of `tasks`, by run. */
export function idsByRun(tasks: Array<{ peid: string; task_id: string }>): IdsByRun {
  const m: IdsByRun = new Map();
  for (const t of tasks) m.set(t.peid, (m.get(t.peid) ?? new Set<string>()).add(t.task_id));
  return m;
}

export interface FanInPlan {
  transitions: PendingTransition[];
  delayOf: Map<string, number>;
  resend: OutgoingTaskMessage[];
  /** Dependents of redriven tasks found ended but still open on their run (their close was lost): closed again. */
  reclose: Array<{ peid: string; task_id: string; status: TaskStatus }>;
}

/**
 * Decides, from a fresh read of the runs, which dependents of the finished
 * tasks become queued or skipped; skips cascade in memory. For tasks that were
 * redelivered already finished, dependents left queued but never started are
 * sent again (a crash may have happened between their claim and their send).
 */
export function planFanIn(
  runs: ExecutionRecord[],
  states: TaskState[],
  finished: Map<string, Set<string>>,
  redrive: Map<string, Set<string>>,
  now = Number.POSITIVE_INFINITY,
): FanInPlan {
  const plan: FanInPlan = { transitions: [], delayOf: new Map(), resend: [], reclose: [] };
  const byKey = new Map<string, TaskState & { status: TaskStatus }>();
  for (const s of states) byKey.set(taskKey(s.peid, s.task_id), { ...s });
  for (const exec of runs) {
    const peid = exec.peid;
    const get = (id: string) => byKey.get(taskKey(peid, id));
    const stack = [...(finished.get(peid) ?? []), ...(redrive.get(peid) ?? [])];
    const redriven = new Set(redrive.get(peid) ?? []);
    const resent = new Set<string>();
    while (stack.length > 0) {
      const id = stack.pop() as string;
      const parent = get(id);
      if (!parent) continue;
      for (const depId of parent.dependents) {
        const dep = get(depId);
        if (!dep) continue;
        if (dep.status === 'pending') {
          const outcomes: Record<string, { status: TaskStatus; on_failure: 'fail' | 'continue' }> = {};
          for (const d of dep.def.depends_on) {
            const s = get(d);
            if (s) outcomes[d] = { status: s.status, on_failure: s.def.on_failure };
          }
          const decision = decideReadiness(dep.def, outcomes);
          if (decision === 'wait') continue;
          const to = decision === 'run' ? 'queued' : 'skipped';
          dep.status = to;
          plan.transitions.push({ tenant_code: exec.tenant_code, peid, task_id: depId, to });
          if (to === 'queued') plan.delayOf.set(taskKey(peid, depId), initialDelaySeconds(dep.def));
          else stack.push(depId);
        } else if (dep.status === 'queued' && dep.attempts === 0 && redriven.has(id) && !resent.has(depId)) {
          resent.add(depId);
          plan.resend.push(
            taskMessage({ tenant_code: exec.tenant_code, peid, task_id: depId }, 1, initialDelaySeconds(dep.def)),
          );
        } else if (
          isTerminalTask(dep.status) &&
          redriven.has(id) &&
          !redriven.has(depId) &&
          exec.open_tasks.includes(depId)
        ) {
          // Ended in one write with its dependencies (an inline task, a skip) by an invocation that died before closing it.
          redriven.add(depId);
          plan.reclose.push({ peid, task_id: depId, status: dep.status });
          stack.push(depId);
        } else if (leaseExpired(dep, now) && redriven.has(id) && !resent.has(depId)) {
          // Claimed by an invocation that died (an inline task has no message of its own): its attempt again.
          resent.add(depId);
          plan.resend.push(taskMessage({ tenant_code: exec.tenant_code, peid, task_id: depId }, dep.attempts, 0));
        }
      }
    }
  }
  return plan;
}

/**
 * The graph tasks planFanIn reads for `runs`: the finished (and redriven) tasks, their
 * dependents and every dependency of those, down the graph (skips cascade). Empty for
 * a run none of whose finished tasks has dependents: then there is nothing to decide.
 */
export function fanInKeys(
  runs: ExecutionRecord[],
  graph: TaskRecord[],
  finished: Map<string, Set<string>>,
  redrive: Map<string, Set<string>>,
): Array<RunRef & { task_id: string }> {
  const byKey = new Map<string, TaskRecord>();
  for (const t of graph) if (isGraphTask(t)) byKey.set(taskKey(t.peid, t.task_id), t);
  const out: Array<RunRef & { task_id: string }> = [];
  for (const exec of runs) {
    const peid = exec.peid;
    const want = new Set<string>();
    const seen = new Set<string>();
    const stack = [...(finished.get(peid) ?? []), ...(redrive.get(peid) ?? [])];
    let decisions = false;
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      want.add(id);
      for (const depId of byKey.get(taskKey(peid, id))?.dependents ?? []) {
        decisions = true;
        want.add(depId);
        for (const d of byKey.get(taskKey(peid, depId))?.def.depends_on ?? []) want.add(d);
        stack.push(depId);
      }
    }
    if (decisions) for (const task_id of want) out.push({ tenant_code: exec.tenant_code, peid, task_id });
  }
  return out;
}

/** What a fan-in decided: the dependents it queued (their messages) and skipped, the messages it re-sends, the ends it closes again. */
export interface FanInResult {
  queued: OutgoingTaskMessage[];
  skipped: IdsByRun;
  resend: OutgoingTaskMessage[];
  reclose: FanInPlan['reclose'];
}

/** Decides the dependents of `finished` (and of `redriven`) in `runs`: one fresh read by key, one bulk of claims. */
export async function fanIn(
  deps: { runs: Pick<TaskClaims, 'taskStates' | 'transitionPending'>; clock: () => number },
  runs: ExecutionRecord[],
  graph: TaskRecord[],
  finished: IdsByRun,
  redriven: IdsByRun,
  token: string,
): Promise<FanInResult> {
  const out: FanInResult = { queued: [], skipped: new Map(), resend: [], reclose: [] };
  // Only the tasks the decisions read, by key; none when nothing finished has dependents.
  const wanted = fanInKeys(runs, graph, finished, redriven);
  if (wanted.length === 0) return out;
  const states = await deps.runs.taskStates(wanted);
  const plan = planFanIn(runs, states, finished, redriven, deps.clock());
  const won = await deps.runs.transitionPending(plan.transitions, token, deps.clock());
  for (const t of plan.transitions) {
    const key = taskKey(t.peid, t.task_id);
    if (!won.has(key)) continue;
    if (t.to === 'queued') out.queued.push(taskMessage(t, 1, plan.delayOf.get(key) ?? 0));
    else out.skipped.set(t.peid, (out.skipped.get(t.peid) ?? new Set<string>()).add(t.task_id));
  }
  out.resend = plan.resend;
  out.reclose = plan.reclose;
  return out;
}
