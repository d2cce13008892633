/**
 * Everything the engine stores about runs, one port per concern. The MongoDB adapter
 * (lib/adapters/mongo/run-store.ts) implements them all, and so does the in-memory store of
 * the tests (test/support/memory-run-store.ts), held to the same contract tests; a use case
 * asks only for the ports it uses.
 */
import type { LoopItems } from './loop-items.js';
import type { RunEnds } from './run-ends.js';
import type { RunRecords } from './run-records.js';
import type { RunRedrive } from './run-redrive.js';
import type { TaskClaims } from './task-claims.js';
import type { WaitingTasks } from './waiting-tasks.js';
import type { WorkCounter } from './work-counter.js';

export type RunStore = RunRecords & RunEnds & TaskClaims & LoopItems & WaitingTasks & WorkCounter & RunRedrive;
