/** The counter of a run tree's work budget (lib/engine/work-budget.ts). */
import type { RunRef } from '../model.js';

export interface WorkCounter {
  /**
   * Adds `units` to the work used by the tree of the top-level run `root` unless that would
   * pass `budget`; false (nothing added) when it would.
   */
  chargeWork(root: RunRef, units: number, budget: number): Promise<boolean>;
}
