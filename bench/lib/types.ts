/**
 * The shapes every bench case shares. A case returns one or more rows; each row
 * compares a baseline with the product on one metric, or checks the product
 * against an absolute bound (then `baseline` is null).
 */

/** How a row's target reads: `ratio >= value`, `ratio <= value`, `optimized <= value`, `optimized >= value`, or informational. */
export type TargetKind = 'ratio-min' | 'ratio-max' | 'value-max' | 'value-min' | 'info';

export interface Target {
  kind: TargetKind;
  value: number | null;
  /** As printed in the tables, e.g. ">= 5x" or "<= 128 MB". */
  text: string;
}

export interface Row {
  /** Case id, e.g. "status-writes". */
  case: string;
  /** Row name, e.g. "status-writes.time". */
  name: string;
  unit: string;
  baseline: number | null;
  optimized: number | null;
  /** Improvement factor (baseline / optimized for costs, optimized / baseline for throughput), or a bound ratio. */
  ratio: number | null;
  target: Target;
  /** null: informational or skipped. */
  pass: boolean | null;
  /** Set when the case could not run; the reason. */
  skipped?: string;
  /** One line on what was measured. */
  note?: string;
}

export interface CaseOutcome {
  rows: Row[];
  /** Anything worth keeping in results.json under details[case]. */
  details: Record<string, unknown>;
  /** Markdown lines for results.md (what this run measured beyond the rows). */
  notes?: string[];
  /** Markdown blocks (tables) for results.md, printed before the notes. */
  tables?: string[];
}

export interface BenchCase {
  id: string;
  title: string;
  /** Which line of the original Go service's table (or which target of ours) it answers. */
  claim: string;
  /** Markdown: what is measured and how, what the baseline is, caveats. */
  method: string;
  run(ctx: BenchContext): Promise<CaseOutcome>;
}

export interface BenchContext {
  quick: boolean;
  /** Prints a progress line on stderr. */
  log(message: string): void;
}
