// Types for scripts/lib/cpu-profile.mjs (plain ESM JavaScript), for TypeScript importers such as
// test/unit/bench-measures.test.ts. Keep in sync with that file.

export function shortUrl(url: string, root: string): string;
export function packageOf(url: string, root: string): string;
export function isProductUrl(url: string, root: string): boolean;
export function functionNameIn(line: string): string | undefined;

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
export function sourceMapResolver(): (frame: CallFrame) => { name: string; url: string; line: number };

export interface SelfTimes {
  byFn: Map<string, number>;
  byFile: Map<string, number>;
  byPkg: Map<string, number>;
  product: Map<string, number>;
  idle: number;
  total: number;
}
export function selfTimes(files: string[], root: string): Promise<SelfTimes>;
export function table(title: string, map: Map<string, number>, total: number, top: number): void;
export function printCpuSummary(
  title: string,
  files: string[],
  root: string,
  top: number,
  opts?: { full?: boolean },
): Promise<void>;
