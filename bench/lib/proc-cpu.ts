/**
 * CPU time of this process and of the local stack's servers (the PIDs in
 * .stack/pids/*.json, read from /proc/<pid>/stat), and of the whole machine
 * (/proc/stat), so a case can say where the CPU of a load went. Linux only;
 * anything unreadable is left out rather than guessed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/stack/index.mjs';

/** Clock ticks per second of /proc's counters (USER_HZ, 100 on Linux). */
const TICKS = 100;

export interface CpuSnapshot {
  at: number;
  /** This process: user + system, ms. */
  nodeMs: number;
  /** Each local server: user + system of the process, ms. */
  servers: Record<string, number>;
  /** The machine: busy and total ms summed over every core. */
  machine: { busyMs: number; totalMs: number } | null;
}

export interface CpuDelta {
  wallMs: number;
  nodeMs: number;
  servers: Record<string, number>;
  /** Busy ms of the whole machine (every process, other users' included). */
  machineBusyMs: number | null;
  /** Busy fraction of all cores over the interval (1 = every core busy all the time). */
  machineBusy: number | null;
}

function stackPids(): Record<string, number> {
  const dir = path.join(ROOT, '.stack', 'pids');
  const out: Record<string, number> = {};
  try {
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.json')) continue;
      const pid = (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { pid?: number }).pid;
      if (typeof pid === 'number') out[f.slice(0, -'.json'.length)] = pid;
    }
  } catch {
    // No local stack (real services): no server figures.
  }
  return out;
}

function processMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
  } catch {
    return null;
  }
}

function machineMs(): CpuSnapshot['machine'] {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    return { busyMs: ((total - idle) * 1000) / TICKS, totalMs: (total * 1000) / TICKS };
  } catch {
    return null;
  }
}

export function cpuSnapshot(): CpuSnapshot {
  const usage = process.cpuUsage();
  const servers: Record<string, number> = {};
  for (const [name, pid] of Object.entries(stackPids())) {
    const ms = processMs(pid);
    if (ms !== null) servers[name] = ms;
  }
  return { at: performance.now(), nodeMs: (usage.user + usage.system) / 1000, servers, machine: machineMs() };
}

export function cpuSince(a: CpuSnapshot, b: CpuSnapshot = cpuSnapshot()): CpuDelta {
  const servers: Record<string, number> = {};
  for (const [name, ms] of Object.entries(b.servers)) {
    const before = a.servers[name];
    if (before !== undefined) servers[name] = ms - before;
  }
  const busy = a.machine && b.machine ? b.machine.busyMs - a.machine.busyMs : null;
  const total = a.machine && b.machine ? b.machine.totalMs - a.machine.totalMs : null;
  return {
    wallMs: b.at - a.at,
    nodeMs: b.nodeMs - a.nodeMs,
    servers,
    machineBusyMs: busy,
    machineBusy: busy !== null && total ? busy / total : null,
  };
}

/** Samples this process's RSS every `everyMs` until stopped; returns the peak in bytes. */
export function sampleRss(everyMs = 50): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}
