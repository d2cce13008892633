/**
 * Group commit inside one invocation: each task, as it finishes, joins the group that commits next.
 * A group goes out when its window has passed since its first member joined, or when it holds
 * `maxResults` members, or when nothing else is still running (no reason to wait) — whichever comes
 * first; one group commits at a time, so while a commit is in flight the next group fills (under
 * load the writes stay batched), and a slow task never holds back a fast one's commit. A commit may
 * announce more members (inline tasks it decided): the invocation is done when every announced
 * member has been committed.
 */

export interface CommitPolicy {
  /** How long a group waits for more members after its first, in ms. */
  windowMs: number;
  /** A group this large commits at once. */
  maxResults: number;
}

export interface Committer<T> {
  /** `n` more members will join (tasks started, inline tasks being evaluated). */
  expect(n: number): void;
  /** A member joins the forming group (one of those announced). */
  add(member: T): void;
  /** Members that commit as soon as the committer is free, without waiting for the window. */
  addNow(members: T[]): void;
  /** Resolves once every announced member has been committed (or its commit has failed). */
  idle(): Promise<void>;
}

/** Schedules `fn` after `ms`; returns a cancel function (a fake clock in tests, setTimeout otherwise). */
export type Timer = (ms: number, fn: () => void) => () => void;

const realTimer: Timer = (ms, fn) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

/**
 * A committer that hands each group to `commit`, one at a time. `commit` handles its own failures
 * (a failed group's messages are left for redelivery); a rejection is reported to `failed`.
 */
export function createCommitter<T>(
  policy: CommitPolicy,
  commit: (group: T[]) => Promise<void>,
  failed: (group: T[], err: unknown) => void,
  timer: Timer = realTimer,
): Committer<T> {
  let forming: T[] = [];
  let urgent = false;
  let outstanding = 0;
  let inFlight = false;
  let windowOver = false;
  let cancelWindow: (() => void) | undefined;
  let waiters: Array<() => void> = [];

  const settleWaiters = () => {
    if (outstanding > 0 || forming.length > 0 || inFlight) return;
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  };

  const run = () => {
    cancelWindow?.();
    cancelWindow = undefined;
    windowOver = false;
    urgent = false;
    const group = forming;
    forming = [];
    inFlight = true;
    commit(group)
      .catch((err: unknown) => failed(group, err))
      .finally(() => {
        inFlight = false;
        next();
        settleWaiters();
      });
  };

  const next = () => {
    if (forming.length === 0) return;
    const due = urgent || windowOver || outstanding === 0 || forming.length >= policy.maxResults;
    if (due && !inFlight) return run();
    // The window runs from the first member's arrival, also while the previous group commits.
    if (!due)
      cancelWindow ??= timer(policy.windowMs, () => {
        cancelWindow = undefined;
        windowOver = true;
        next();
      });
  };

  return {
    expect(n) {
      outstanding += n;
    },
    add(member) {
      outstanding -= 1;
      forming.push(member);
      next();
    },
    addNow(members) {
      if (members.length === 0) return;
      forming.push(...members);
      urgent = true;
      next();
    },
    idle() {
      return new Promise<void>((resolve) => {
        waiters.push(resolve);
        settleWaiters();
      });
    },
  };
}
