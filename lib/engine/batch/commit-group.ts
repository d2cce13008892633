/**
 * Committing one group of a batch (commit.ts forms the groups): what its tasks came to is
 * recorded, and what follows is driven.
 *
 *   1. loops expanded write their items; `playbook` tasks record that they wait;
 *   2. the results, and what this invocation's own ends decide before they are closed (decide.ts):
 *      dependents queued or skipped, and ready transforms run inline (inline.ts), all in ONE
 *      unordered bulk write with the results (only the holder of a claim writes a result; a
 *      decision applies only to a pending task);
 *   3. loop items settle, woken sub-playbook tasks resume; failing runs end (fatal.ts);
 *   4. one update per run closes what ended, recording each status, and completes the run when it
 *      empties its open set (close-and-decide.ts), while the messages decided so far are sent;
 *   5. what those closes decide: one bulk of pending -> queued | skipped, their messages; the ready
 *      inline tasks are evaluated and join the next group, as do the skipped ones, to be closed.
 * Messages redelivered for tasks already finished drive step 5 again from a fresh read (fan-in.ts).
 */
import { isTerminalTask, type TaskStatus } from '../../domain/statuses.js';
import { logger } from '../../observability.js';
import { isGraphTask, isLoopItem, type TaskRecord, taskKey } from '../model.js';
import type { TaskResultWrite } from '../ports/task-claims.js';
import type { OutgoingTaskMessage } from '../ports/task-queue.js';
import { cancelLateWaits } from '../run-lifecycle.js';
import { initialDelaySeconds, taskMessage } from '../task-messages.js';
import { closeAndDecide } from './close-and-decide.js';
import { flips } from './decide.js';
import { endFailedRuns, type Fatal } from './fatal.js';
import { inlinable, inlineRecord, runInlineTask } from './inline.js';
import { settleItems, startLoops } from './loops.js';
import type { GroupContext, Member } from './members.js';
import { planResults, type Ran, resultWrite } from './results.js';
import { contextOf, depthAfter, endOn, learn, type RunView, unseenEnds } from './run-view.js';
import { recordWaits, resumeWaiting } from './sub-playbook-waits.js';
import { afterContainments, withContainments } from './undo.js';

type OfKind<K extends Member['kind']> = Extract<Member, { kind: K }>;
const ofKind = <K extends Member['kind']>(group: Member[], kind: K) =>
  group.filter((m): m is OfKind<K> => m.kind === kind);

/** A run that can still move on: running, not failing in this group. */
function live(ctx: GroupContext, peid: string, fatal: Map<string, Fatal>): RunView | undefined {
  const view = ctx.views.get(peid);
  return view && !fatal.has(peid) && view.exec.execution_status === 'running' ? view : undefined;
}

/** The write that decides a pending task: queued, or skipped (ended now). */
function decisionWrite(task: TaskRecord, to: 'queued' | 'skipped', now: number): TaskResultWrite {
  return {
    ...resultWrite(task, to, null, now),
    finished_at: to === 'skipped' ? now : null,
    decided: { attempts: 0, started_at: null },
  };
}

export async function commitGroup(ctx: GroupContext, group: Member[]): Promise<void> {
  const { deps, views, token } = ctx;
  const execs = new Map([...views].map(([p, v]) => [p, v.exec]));

  // 1. Loops expanded, sub-playbook tasks started to wait (a run that ended meanwhile cancels them).
  const expansions = ofKind(group, 'expansion');
  const waits = ofKind(group, 'wait');
  await recordWaits(deps, waits, token);
  const sent: OutgoingTaskMessage[] = [
    ...ofKind(group, 'resend').map((m) => m.message),
    ...(await startLoops(deps, expansions, token)),
  ];
  // Approvals and long delays that started their durable wait (batch/waits.ts) have nothing to write.
  const waiting = ofKind(group, 'waiting').filter((m) => !m.lost);
  await cancelLateWaits(
    deps.runs,
    [...waits, ...expansions, ...waiting].map((m) => m.task),
    deps.clock(),
  );

  // 2. Results, and the decisions this invocation's own ends make, in one bulk write.
  const writes: TaskResultWrite[] = ofKind(group, 'cancel').map((m) =>
    resultWrite(m.task, 'cancelled', null, deps.clock()),
  );
  const fatal = new Map<string, Fatal>();
  const fatalFrom = new Map<string, string>();
  const ended: TaskRecord[] = [];
  const itemsDone: TaskRecord[] = [];
  const decidedKeys = new Set<string>();
  const record = (ran: Ran, depth: number, inline: boolean) => {
    const key = taskKey(ran.task.peid, ran.task.task_id);
    const plan = planResults([ran], execs, deps);
    for (const w of plan.writes) writes.push(inline ? { ...w, decided: { attempts: 1, started_at: ran.began } } : w);
    sent.push(...plan.retries);
    for (const f of plan.fatal) {
      fatal.set(f.run.peid, f);
      fatalFrom.set(f.run.peid, key);
    }
    if (inline) decidedKeys.add(key);
    const done = plan.writes[0];
    if (!done || done.status === 'queued') return;
    if (isLoopItem(ran.task)) return void itemsDone.push(ran.task);
    const view = views.get(ran.task.peid);
    view?.depth.set(ran.task.task_id, depth);
    if (view) learn(view, { ...done, task_id: ran.task.task_id, attempts: ran.task.attempts, claim: null });
    ended.push({ ...ran.task, status: done.status });
  };
  for (const m of ofKind(group, 'ran')) record(m.ran, m.depth, m.inline);
  // Deciding is in memory and optional (the close decides what it leaves): if it throws, what it
  // added is put back and the results go out alone, so no failure downstream of a task loses its result.
  const undo = undoPoint(ctx, ended, { writes, ended, sent, itemsDone }, { decidedKeys, fatal, fatalFrom });
  let queuedHere = new Map<string, OutgoingTaskMessage>();
  try {
    queuedHere = await decideOwnEnds(ctx, { ended, fatal, writes, decidedKeys, record });
  } catch (err) {
    undo();
    logger.error("deciding from a group's own ends failed; its results go out alone, the close decides", {
      error: err as Error,
    });
  }
  // A succeeded task with an undo records its containment (and its expiry timer) with its result.
  const ranTasks = new Map(ofKind(group, 'ran').map((m) => [taskKey(m.ran.task.peid, m.ran.task.task_id), m.ran.task]));
  const contained = await withContainments(deps, writes, ranTasks, execs);
  const won = await deps.runs.writeTaskResults(contained.writes, token, deps.clock());
  await afterContainments(deps, contained.containments, [
    ...ended,
    ...itemsDone,
    ...ofKind(group, 'cancel').map((m) => m.task),
  ]);

  // What this invocation now owns: its claimed results, and the decisions it won (others are someone else's).
  const lost = (peid: string, taskId: string) =>
    decidedKeys.has(taskKey(peid, taskId)) && !won.has(taskKey(peid, taskId));
  for (const [peid, key] of fatalFrom) if (lost(peid, key.slice(peid.length + 1))) fatal.delete(peid);
  const endedOurs = ended.filter((t) => !lost(t.peid, t.task_id));
  for (const t of endedOurs) views.get(t.peid)?.ours.add(t.task_id);
  for (const [key, message] of queuedHere) if (won.has(key)) sent.push(message);

  // 3. Loop items settle, woken sub-playbook tasks resume; a failed task with on_failure=fail ends its run.
  const redriven = ofKind(group, 'redrive').map((m) => m.task);
  const loops = await settleItems(
    deps,
    [...itemsDone, ...redriven.filter(isLoopItem)],
    execs,
    (p) => fatal.has(p),
    token,
  );
  const resumed = await resumeWaiting(
    deps,
    ofKind(group, 'resume').map((m) => m.task),
    execs,
  );
  for (const f of [...loops.fatal, ...resumed.fatal]) fatal.set(f.run.peid, f);
  sent.push(...loops.messages, ...resumed.messages);
  await endFailedRuns(deps, fatal);
  for (const peid of fatal.keys()) {
    const view = views.get(peid);
    if (view) view.exec = { ...view.exec, execution_status: 'failed' };
  }

  // 4-5. Close what ended (sending what is decided meanwhile), then what the closes decide.
  const closing = [
    ...endedOurs,
    ...loops.done,
    ...resumed.done,
    ...redriven.filter((t) => isGraphTask(t) && isTerminalTask(t.status)),
  ].filter((t) => live(ctx, t.peid, fatal) && isGraphTask(t));
  const closes = ofKind(group, 'close').filter((m) => live(ctx, m.peid, fatal));
  await closeAndDecide(
    ctx,
    { closing, closes, redriven: redriven.filter((t) => live(ctx, t.peid, fatal)), sent },
    group,
  );
}

/**
 * Step 2's decisions: dependents of the graph tasks this group ends whose every dependency ended
 * in this invocation (it held their claims, or won their decisions) or was closed before this
 * invocation read the run's record are decided now, with no read and no close first (no other
 * invocation can decide them: the last of their dependencies to end is this group's, and this
 * group's ends are not closed yet): queued or skipped by a conditional write in the same bulk, or, for a ready
 * transform or noop whose context this invocation has whole, run inline at once (its result in the
 * same bulk; skips and inline results cascade). Returns the messages of the tasks it queued, by key.
 */
async function decideOwnEnds(
  ctx: GroupContext,
  at: {
    ended: TaskRecord[];
    fatal: Map<string, Fatal>;
    writes: TaskResultWrite[];
    decidedKeys: Set<string>;
    record: (ran: Ran, depth: number, inline: boolean) => void;
  },
): Promise<Map<string, OutgoingTaskMessage>> {
  const queued = new Map<string, OutgoingTaskMessage>();
  // Per run, the ends this group wrote so far (earlier groups' are `ours`).
  const groupEnds = new Map<string, Map<string, TaskStatus>>();
  // Only from what this invocation knows is stored: not in a run one of whose commits failed.
  const trusted = (peid: string) => {
    const view = live(ctx, peid, at.fatal);
    return view && !view.broken ? view : undefined;
  };
  let frontier = at.ended.filter((t) => isGraphTask(t) && trusted(t.peid));
  while (frontier.length > 0) {
    const before = at.ended.length;
    for (const [peid, tasks] of groupByRun(frontier)) {
      const view = trusted(peid);
      if (!view) continue;
      const earlier = groupEnds.get(peid) ?? new Map<string, TaskStatus>();
      // An end is known when this invocation wrote it, or when the run's record showed it closed
      // (by another invocation, before this one read the record): both are stored for good.
      const known = (id: string) =>
        earlier.get(id) ?? (view.ours.has(id) ? view.tasks.get(id)?.status : (endOn(view.exec, id) ?? undefined));
      const fresh = new Map(tasks.map((t) => [t.task_id, t.status]));
      groupEnds.set(peid, new Map([...earlier, ...fresh]));
      const { decisions } = flips(view.graph, fresh.keys(), known, (id) => fresh.get(id) ?? known(id), view.decided);
      for (const d of decisions) {
        const task = view.tasks.get(d.task_id) as TaskRecord;
        const key = taskKey(peid, d.task_id);
        const now = ctx.deps.clock();
        const depth = depthAfter(view, d.task_id);
        if (d.to === 'run' && inlinable(task, depth, ctx.deadline - now)) {
          // Run inline now only with the whole context at hand; else the close decides it (and reads).
          if (unseenEnds(view).length > 0) continue;
          view.decided.add(d.task_id);
          at.record(
            await runInlineTask(inlineRecord(task, now), contextOf(view), ctx.deps.clock, ctx.deadline),
            depth,
            true,
          );
          continue;
        }
        view.decided.add(d.task_id);
        at.decidedKeys.add(key);
        const to = d.to === 'skip' ? 'skipped' : 'queued';
        at.writes.push(decisionWrite(task, to, now));
        learn(view, { task_id: d.task_id, status: to, ...(to === 'skipped' ? { finished_at: now } : {}) });
        if (to === 'skipped') at.ended.push({ ...task, status: 'skipped' });
        else queued.set(key, taskMessage(task, 1, initialDelaySeconds(task.def)));
      }
    }
    frontier = at.ended.slice(before);
  }
  return queued;
}

/**
 * A way back to the state before deciding: the lists cut to their lengths, the sets and maps (and
 * the views of the runs that ended something) as they were.
 */
function undoPoint(
  ctx: GroupContext,
  ended: TaskRecord[],
  lists: Record<string, unknown[]>,
  keyed: { decidedKeys: Set<string>; fatal: Map<string, Fatal>; fatalFrom: Map<string, string> },
): () => void {
  const lengths = Object.values(lists).map((l) => [l, l.length] as const);
  const decidedKeys = new Set(keyed.decidedKeys);
  const fatal = new Map(keyed.fatal);
  const fatalFrom = new Map(keyed.fatalFrom);
  const views = [...new Set(ended.map((t) => t.peid))]
    .map((peid) => ctx.views.get(peid))
    .filter((v): v is RunView => v !== undefined)
    .map((v) => ({ v, decided: new Set(v.decided), tasks: new Map(v.tasks), depth: new Map(v.depth) }));
  const refillSet = <K>(target: Set<K>, from: Set<K>) => {
    target.clear();
    for (const k of from) target.add(k);
  };
  const refillMap = <K, V>(target: Map<K, V>, from: Map<K, V>) => {
    target.clear();
    for (const [k, v] of from) target.set(k, v);
  };
  return () => {
    for (const [list, n] of lengths) list.length = n;
    refillSet(keyed.decidedKeys, decidedKeys);
    refillMap(keyed.fatal, fatal);
    refillMap(keyed.fatalFrom, fatalFrom);
    for (const s of views) {
      refillSet(s.v.decided, s.decided);
      refillMap(s.v.tasks, s.tasks);
      refillMap(s.v.depth, s.depth);
    }
  };
}

export function groupByRun<T extends { peid: string }>(items: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) m.set(t.peid, [...(m.get(t.peid) ?? []), t]);
  return m;
}
