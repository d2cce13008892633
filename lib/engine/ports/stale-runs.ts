/** The reaper's sweep for runs without progress (lib/engine/reap-runs.ts). */
import type { ExecutionRecord } from '../model.js';

export interface StaleRunFinder {
  /** Running executions whose last progress is older than `cutoff`, oldest first (all tenants). */
  findStaleRuns(cutoff: number, limit: number): Promise<ExecutionRecord[]>;
}
