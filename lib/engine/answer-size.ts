/**
 * Keeping a run's answer within a size limit (Lambda's 6 MB response payload). A run holds up
 * to 200 task outputs of up to 64 KiB each, more than the limit, so when the whole answer would
 * pass it, outputs are left out, largest first, until it fits: each task left without its output
 * answers `output: null, output_omitted: true`, and the answer `outputs_omitted: true`. If even
 * without any output it would not fit (loops of many items), the items lists are left out too
 * (`items_omitted: true`). Sizes are counted the way `limit.sizeOf` measures JSON text (the HTTP
 * layer counts the escaping of Lambda's envelope), from the stored JSON, without building the
 * answer twice; only the outputs kept are parsed.
 */
import type { ExecutionView } from './run-views.js';

export interface AnswerLimit {
  /** What the answer's JSON text may cost, as measured by sizeOf. */
  maxBytes: number;
  /** The cost of a piece of JSON text in the answer (e.g. its UTF-8 bytes once escaped). */
  sizeOf(json: string): number;
}

/**
 * `answer` (whose task outputs are still null) with the stored `outputs` (JSON text, by task
 * position) put back as far as `limit` allows.
 */
export function fitAnswer(
  answer: ExecutionView,
  outputs: Array<string | null>,
  limit: AnswerLimit,
  parse: (json: string | null) => unknown,
): ExecutionView {
  const nullCost = limit.sizeOf('null');
  const extra = outputs.map((json) => (json === null ? 0 : limit.sizeOf(json) - nullCost));
  let total = limit.sizeOf(JSON.stringify(answer)) + extra.reduce((a, b) => a + b, 0);
  const omitted = new Set<number>();
  if (total > limit.maxBytes) {
    // The flags the answer gains: once, and per task left without its output.
    const flag = limit.sizeOf(',"outputs_omitted":true');
    const perTask = limit.sizeOf(',"output_omitted":true');
    total += flag;
    const largest = extra.map((bytes, i) => ({ bytes, i })).sort((a, b) => b.bytes - a.bytes);
    for (const { bytes, i } of largest) {
      if (total <= limit.maxBytes || bytes <= 0) break;
      omitted.add(i);
      total += perTask - bytes;
    }
  }
  const tasks = answer.tasks.map((view, i) => {
    if (omitted.has(i)) return { ...view, output: null, output_omitted: true as const };
    return { ...view, output: parse(outputs[i] ?? null) };
  });
  const fitted: ExecutionView = omitted.size > 0 ? { ...answer, tasks, outputs_omitted: true } : { ...answer, tasks };
  if (total <= limit.maxBytes) return fitted;
  // Every output is out and it still does not fit.
  return { ...fitted, tasks: fitted.tasks.map(({ items: _items, ...view }) => view), items_omitted: true };
}
