/** The members of a batch's commit groups, and what committing them needs (commit-group.ts). */
import type { TaskRecord } from '../model.js';
import type { TaskEnd } from '../ports/run-ends.js';
import type { RunStore } from '../ports/run-store.js';
import type { OutgoingTaskMessage, TaskQueue } from '../ports/task-queue.js';
import type { UndoDeps } from '../undo.js';
import type { Ran } from './results.js';
import type { RunView } from './run-view.js';

/** One member of a commit group: what a task came to, or what a message asks that needs no run. */
export type Member = { messageIds: string[] } & (
  | { kind: 'ran'; ran: Ran; depth: number; inline: boolean }
  | { kind: 'expansion'; task: TaskRecord; items: unknown[] }
  | { kind: 'wait'; task: TaskRecord; childPeid: string }
  | { kind: 'waiting'; task: TaskRecord; lost: boolean }
  | { kind: 'cancel'; task: TaskRecord }
  | { kind: 'redrive'; task: TaskRecord }
  | { kind: 'resume'; task: TaskRecord }
  | { kind: 'resend'; message: OutgoingTaskMessage }
  | { kind: 'close'; peid: string; end: TaskEnd }
);

export interface CommitDeps {
  runs: RunStore;
  queue: TaskQueue;
  clock: () => number;
  random: () => number;
  outputMaxBytes: number;
  /** Containments: the undo state of succeeded tasks with an undo, their expiry timers (batch/undo.ts). */
  undo?: UndoDeps;
}

/** The batch a group belongs to: its runs as this invocation knows them, and where decided members go. */
export interface GroupContext {
  deps: CommitDeps;
  views: Map<string, RunView>;
  token: string;
  deadline: number;
  /** Members decided by this group that commit next (inline tasks evaluated, skipped tasks to close). */
  next(members: Member[]): void;
}

/** The run a member belongs to. */
export function memberRun(m: Member): string {
  if (m.kind === 'ran') return m.ran.task.peid;
  if (m.kind === 'resend') return m.message.message.peid;
  if (m.kind === 'close') return m.peid;
  return m.task.peid;
}
