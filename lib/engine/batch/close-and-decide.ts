/**
 * Steps 4-5 of a commit group (commit-group.ts). Tasks redelivered already finished first drive
 * their fan-in from a fresh read (fan-in.ts). Then one update per run closes what ended, with
 * each status, completing the run when it empties the open set; the messages decided so far are
 * sent meanwhile. What each close changed decides the dependents no earlier step decided
 * (decide.ts): one bulk of pending -> queued | skipped and a send for the queued; ready transforms
 * and noops run inline (after one read of the results this invocation has not seen, if their
 * context needs it) and join the next group, as do the skipped, to be closed there.
 */
import { logger, MetricUnit, metrics } from '../../observability.js';
import { type ExecutionRecord, type TaskRecord, taskKey } from '../model.js';
import type { ClosedRun, TaskEnd } from '../ports/run-ends.js';
import type { PendingTransition } from '../ports/task-claims.js';
import type { OutgoingTaskMessage } from '../ports/task-queue.js';
import { closeAndComplete } from '../run-lifecycle.js';
import { initialDelaySeconds, taskMessage } from '../task-messages.js';
import { flips } from './decide.js';
import { fanIn, idsByRun } from './fan-in.js';
import { inlinable, inlineRecord, runInlineTask } from './inline.js';
import { type GroupContext, type Member, memberRun } from './members.js';
import { contextOf, depthAfter, endOn, learn, type RunView, unseenEnds } from './run-view.js';

export interface Closing {
  /** Graph tasks that ended (this group's results and decisions, loops, resumed, redelivered). */
  closing: TaskRecord[];
  /** Ends decided by an earlier group, to close. */
  closes: Array<Extract<Member, { kind: 'close' }>>;
  /** Tasks redelivered already finished: their fan-in is driven again from a fresh read. */
  redriven: TaskRecord[];
  /** Messages to send now. */
  sent: OutgoingTaskMessage[];
}

export async function closeAndDecide(ctx: GroupContext, c: Closing, group: Member[]): Promise<void> {
  const { deps, views, token } = ctx;
  const ends = new Map<string, Map<string, TaskEnd>>();
  const end = (peid: string, e: TaskEnd) => ends.set(peid, (ends.get(peid) ?? new Map()).set(e.task_id, e));
  for (const t of c.closing) end(t.peid, { task_id: t.task_id, status: t.status });
  for (const m of c.closes) end(m.peid, m.end);

  // A redelivered finished task: its dependents decided again from a fresh read, lost closes redone.
  if (c.redriven.length > 0) {
    const runs = [...new Set(c.redriven.map((t) => t.peid))].map((p) => views.get(p) as RunView);
    const graph = runs.flatMap((v) => [...v.tasks.values()]);
    const decided = await fanIn(
      deps,
      runs.map((v) => v.exec),
      graph,
      new Map(),
      idsByRun(c.redriven),
      token,
    );
    c.sent.push(...decided.queued, ...decided.resend);
    for (const m of decided.queued) views.get(m.message.peid)?.decided.add(m.message.task_id);
    for (const [peid, ids] of decided.skipped)
      for (const id of ids) {
        views.get(peid)?.decided.add(id);
        end(peid, { task_id: id, status: 'skipped' });
      }
    for (const r of decided.reclose) end(r.peid, { task_id: r.task_id, status: r.status });
  }

  const [, closed] = await Promise.all([
    deps.queue.send(c.sent),
    Promise.all([...ends].map(async ([peid, e]) => [peid, await closeRun(ctx, peid, [...e.values()])] as const)),
  ]);

  // What the closes decide.
  const transitions: PendingTransition[] = [];
  const inline: Array<{ view: RunView; task: TaskRecord; depth: number }> = [];
  const legacy: Array<{ view: RunView; ended: string[] }> = [];
  for (const [peid, run] of closed) {
    const view = views.get(peid);
    if (!run || !view || run.after.execution_status !== 'running') continue;
    const ended = [...(ends.get(peid)?.keys() ?? [])].filter((id) => run.before.open_tasks.includes(id));
    const { decisions, unknown } = flips(
      view.graph,
      ended,
      (id) => endOn(run.before, id),
      (id) => endOn(run.after, id),
      view.decided,
    );
    if (unknown) {
      legacy.push({ view, ended });
      continue;
    }
    for (const d of decisions) {
      view.decided.add(d.task_id);
      const task = view.tasks.get(d.task_id) as TaskRecord;
      const depth = depthAfter(view, d.task_id);
      // Inline only from a view this invocation trusts (none of the run's commits failed).
      if (d.to === 'run' && !view.broken && inlinable(task, depth, ctx.deadline - deps.clock()))
        inline.push({ view, task, depth });
      else
        transitions.push({
          tenant_code: view.exec.tenant_code,
          peid,
          task_id: d.task_id,
          to: d.to === 'run' ? 'queued' : 'skipped',
        });
    }
  }

  const originsOf = (peid: string) => group.flatMap((m) => (memberRun(m) === peid ? m.messageIds : []));
  const won = await deps.runs.transitionPending(transitions, token, deps.clock());
  const messages: OutgoingTaskMessage[] = [];
  const skipped: Member[] = [];
  for (const t of transitions) {
    if (!won.has(taskKey(t.peid, t.task_id))) continue;
    const view = views.get(t.peid) as RunView;
    learn(view, { task_id: t.task_id, status: t.to });
    if (t.to === 'queued')
      messages.push(taskMessage(t, 1, initialDelaySeconds((view.tasks.get(t.task_id) as TaskRecord).def)));
    else
      skipped.push({
        kind: 'close',
        peid: t.peid,
        end: { task_id: t.task_id, status: 'skipped' },
        messageIds: originsOf(t.peid),
      });
  }
  // Runs older than `task_ends` (their ends not all recorded): the fan-in reads their tasks.
  for (const { view, ended } of legacy) {
    const graph = [...view.tasks.values()];
    const decided = await fanIn(
      deps,
      [view.exec],
      graph,
      idsByRun(ended.map((task_id) => ({ peid: view.exec.peid, task_id }))),
      new Map(),
      token,
    );
    messages.push(...decided.queued, ...decided.resend);
    for (const id of decided.skipped.get(view.exec.peid) ?? [])
      skipped.push({
        kind: 'close',
        peid: view.exec.peid,
        end: { task_id: id, status: 'skipped' },
        messageIds: originsOf(view.exec.peid),
      });
  }
  await deps.queue.send(messages);
  ctx.next([...skipped, ...(await runInline(ctx, inline, originsOf))]);
}

/** Closes `ends` on the run (completing it when they are its last open tasks); the view follows. */
async function closeRun(ctx: GroupContext, peid: string, ends: TaskEnd[]): Promise<ClosedRun | null> {
  const view = ctx.views.get(peid) as RunView;
  const exec: ExecutionRecord = view.exec;
  const now = ctx.deps.clock();
  const { closed, completed } = await closeAndComplete(ctx.deps, exec, ends, now, exec.open_tasks);
  if (closed) view.exec = completed ? { ...closed.after, execution_status: 'completed' } : closed.after;
  if (completed) {
    metrics.addMetric('RunsCompleted', MetricUnit.Count, 1);
    logger.info('run completed', { peid, tenant_code: exec.tenant_code, playbook_runtime: now - exec.createddate });
  }
  return closed;
}

/** Evaluates the inline tasks the closes made ready (reading first the results their contexts lack). */
async function runInline(
  ctx: GroupContext,
  tasks: Array<{ view: RunView; task: TaskRecord; depth: number }>,
  originsOf: (peid: string) => string[],
): Promise<Member[]> {
  if (tasks.length === 0) return [];
  const unseen = [...new Set(tasks.map((t) => t.view))].filter((v) => unseenEnds(v).length > 0);
  if (unseen.length > 0) {
    const states = await ctx.deps.runs.loadGraphStates(
      unseen.map((v) => ({ tenant_code: v.exec.tenant_code, peid: v.exec.peid })),
    );
    for (const s of states) {
      const view = ctx.views.get(s.peid);
      // Only results: a state read now may be ahead of (or behind) what this invocation wrote.
      if (view && !view.exec.open_tasks.includes(s.task_id)) learn(view, s);
    }
  }
  return Promise.all(
    tasks.map(async ({ view, task, depth }): Promise<Member> => {
      const ran = await runInlineTask(
        inlineRecord(task, ctx.deps.clock()),
        contextOf(view),
        ctx.deps.clock,
        ctx.deadline,
      );
      return { kind: 'ran', ran, depth, inline: true, messageIds: originsOf(view.exec.peid) };
    }),
  );
}
