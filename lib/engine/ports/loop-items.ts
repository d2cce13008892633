/** for_each loops: a loop task's items, its open set of positions, and its result (lib/engine/for-each.ts). */
import type { RunRef, TaskRecord } from '../model.js';
import type { TaskResult } from './task-claims.js';

export interface LoopItems {
  /** Writes the items of an expanded for_each task; items that exist already are kept. */
  insertItems(items: TaskRecord[]): Promise<void>;
  /** Records that a claimed for_each task now waits for `total` items (releases its claim). */
  markExpanded(ref: RunRef, taskId: string, total: number, token: string, now: number): Promise<boolean>;
  /** Removes finished item positions from the loop task's open set; returns the loop task after. */
  closeItems(ref: RunRef, taskId: string, indices: number[], now: number): Promise<TaskRecord | null>;
  /** The items of a loop task in order (status, output and error only). */
  loadItems(
    ref: RunRef,
    taskId: string,
  ): Promise<Array<Pick<TaskRecord, 'item_index' | 'status' | 'output_json' | 'error'>>>;
  /** Writes the result of a waiting loop task whose items are all finished, exactly once; true if this call did. */
  finishLoop(ref: RunRef, taskId: string, result: TaskResult, now: number): Promise<boolean>;
}
