/** Small statistics and the alternating baseline/optimized round runner. */
import type { Row, Target } from './types.js';

/** The median of `xs` (NaN when empty). */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** The p-th percentile (nearest rank, 0 < p <= 100) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

/** Rounds to `digits` significant decimals for reporting. */
export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface Side<T> {
  /** One measured unit of work; returns its sample(s). */
  run(round: number): Promise<T>;
}

export interface AlternateOptions<T> {
  warmup: number;
  rounds: number;
  baseline: Side<T>;
  optimized: Side<T>;
  /** Called before every run of either side (not timed), e.g. to restore the data. */
  reset?: () => Promise<void>;
  log?: (message: string) => void;
  label?: string;
}

/**
 * Runs warm-up rounds, then `rounds` rounds where baseline and optimized alternate
 * (the side that goes first alternates too, so neither always runs on a warmer server).
 */
export async function alternate<T>(opts: AlternateOptions<T>): Promise<{ baseline: T[]; optimized: T[] }> {
  const out = { baseline: [] as T[], optimized: [] as T[] };
  for (let i = 0; i < opts.warmup; i++) {
    await opts.reset?.();
    await opts.baseline.run(-1);
    await opts.reset?.();
    await opts.optimized.run(-1);
  }
  for (let r = 0; r < opts.rounds; r++) {
    const order: Array<'baseline' | 'optimized'> = r % 2 === 0 ? ['baseline', 'optimized'] : ['optimized', 'baseline'];
    for (const side of order) {
      await opts.reset?.();
      out[side].push(await opts[side].run(r));
    }
    opts.log?.(`${opts.label ?? 'round'} ${r + 1}/${opts.rounds}`);
  }
  return out;
}

/** Milliseconds taken by `fn`. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export const targets = {
  ratioAtLeast: (value: number): Target => ({ kind: 'ratio-min', value, text: `>= ${value}x` }),
  ratioAtMost: (value: number, text: string): Target => ({ kind: 'ratio-max', value, text }),
  valueAtMost: (value: number, text: string): Target => ({ kind: 'value-max', value, text }),
  valueAtLeast: (value: number, text: string): Target => ({ kind: 'value-min', value, text }),
  info: (text = 'informational'): Target => ({ kind: 'info', value: null, text }),
};

/** Whether a row meets its target (null when informational or not measured). */
export function judge(target: Target, ratio: number | null, optimized: number | null): boolean | null {
  if (target.value === null) return null;
  switch (target.kind) {
    case 'ratio-min':
      return ratio === null ? null : ratio >= target.value;
    case 'ratio-max':
      return ratio === null ? null : ratio <= target.value;
    case 'value-max':
      return optimized === null ? null : optimized <= target.value;
    case 'value-min':
      return optimized === null ? null : optimized >= target.value;
    case 'info':
      return null;
  }
}

/** Builds a row, computing pass from the target. */
export function row(r: Omit<Row, 'pass'>): Row {
  return { ...r, pass: r.skipped ? null : judge(r.target, r.ratio, r.optimized) };
}

/** A number for prose and tables: 3 significant figures up to 100, whole numbers above. */
export function fmtNum(x: number): string {
  const abs = Math.abs(x);
  return abs >= 100 ? x.toFixed(0) : abs >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/**
 * How far a measured value misses its target, e.g. "by 85 ms (57 % over the bound)"; null when it
 * meets it, or when either is unknown. `value` is the ratio for ratio targets, the value otherwise.
 */
export function shortfall(target: Target, value: number | null, unit = ''): string | null {
  const bound = target.value;
  if (bound === null || value === null || !Number.isFinite(value)) return null;
  const u = unit ? ` ${unit}` : '';
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  switch (target.kind) {
    case 'value-max':
    case 'ratio-max':
      return value > bound ? `by ${fmtNum(value - bound)}${u} (${pct(value / bound - 1)} over the bound)` : null;
    case 'value-min':
    case 'ratio-min':
      return value < bound ? `by ${fmtNum(bound - value)}${u} (${pct(value / bound)} of the target)` : null;
    case 'info':
      return null;
  }
}
