/**
 * The e2e-throughput case's single-process rows, details and notes (bench/lib/e2e-single.ts): the
 * shape every earlier result measured, kept for continuity. Its rows are named
 * `e2e-throughput.single-process.*` (before the container shape existed they were `e2e-throughput.*`).
 */
import { getConfig } from '../../lib/config.js';
import type { RoundTrips } from './counters.js';
import type { Driven } from './e2e-load.js';
import { E2E_PROFILE_NOTES, throughputCeilingNote } from './e2e-notes.js';
import type { SingleProcessResult } from './e2e-single.js';
import type { CpuDelta } from './proc-cpu.js';
import { median, percentile, round, row, targets } from './stats.js';
import type { CaseOutcome } from './types.js';

const WIDTH = 10;

export interface LoadResult extends Driven {
  cpu: CpuDelta;
  peakRss: number;
  stubCalls: number;
  deferred: number;
  invocations: number;
  trips: RoundTrips;
}

const MB = 1024 * 1024;

export function singleProcessOutcome(m: SingleProcessResult): CaseOutcome {
  const res = m.load;
  const idle = m.idle.latencies;
  const overlap = m.idle.overlap;
  const p50 = percentile(res.latencies, 50);
  const p99 = percentile(res.latencies, 99);
  const idleMs = median(idle);
  const nodeCpu = res.cpu.nodeMs / res.runs;
  const serverCpu = Object.fromEntries(Object.entries(res.cpu.servers).map(([k, v]) => [k, round(v / res.runs, 2)]));
  const serversTotal = Object.values(res.cpu.servers).reduce((a, b) => a + b, 0) / res.runs;
  const machinePerRun = res.cpu.machineBusyMs === null ? null : res.cpu.machineBusyMs / res.runs;
  const cores = res.cpu.wallMs > 0 ? (res.cpu.nodeMs + serversTotal * res.runs) / res.cpu.wallMs : 0;
  const minOverlap = Math.min(...overlap);
  const allOverlap = overlap.filter((n) => n === WIDTH).length;
  const name = (s: string) => `e2e-throughput.single-process.${s}`;
  const info = (n: string, unit: string, v: number, note?: string) =>
    row({
      case: 'e2e-throughput',
      name: name(n),
      unit,
      baseline: null,
      optimized: v,
      ratio: null,
      target: targets.info(),
      ...(note ? { note } : {}),
    });
  const pool = getConfig('mongo').MONGO_MAX_POOL_SIZE;
  const perRun = (x: number) => round(x / res.runs, 2);
  return {
    rows: [
      row({
        case: 'e2e-throughput',
        name: name('runs-per-s'),
        unit: `runs/s completed, everything in one process (${res.runs} runs, 50 in flight)`,
        baseline: null,
        optimized: round(res.runsPerS, 1),
        ratio: null,
        target: targets.valueAtLeast(100, '>= 100 runs/s'),
        note: 'peer engine on 2 cores: ~33 runs/s with 50 in flight',
      }),
      info('latency-p50', 'ms start request -> run completed (p50, under load, one process)', round(p50, 0)),
      info('latency-p99', 'ms start request -> run completed (p99, under load, one process)', round(p99, 0)),
      row({
        case: 'e2e-throughput',
        name: name('idle-latency'),
        unit: `ms one run alone, everything in one process (median of ${idle.length})`,
        baseline: null,
        optimized: round(idleMs, 0),
        ratio: null,
        target: targets.valueAtMost(150, '<= 150 ms'),
        note: 'peer engine: ~150 ms',
      }),
      info('cpu-node', 'CPU ms per run, the one Node process (handlers, poller, stub, bench)', round(nodeCpu, 1)),
      info(
        'cpu-servers',
        'CPU ms per run, local servers (MongoDB, SQS, Redis, DynamoDB emulators), one process',
        round(serversTotal, 1),
      ),
      info('mongo-per-run', 'MongoDB commands per run under load, one process', perRun(res.trips.mongo)),
      info('invocations-per-run', 'executeTask invocations per run under load, one process', perRun(res.invocations)),
      info(
        'peak-rss',
        'MB peak RSS of the one Node process during the load',
        round(res.peakRss / MB, 0),
        'peer: 540-890 MB',
      ),
      row({
        case: 'e2e-throughput',
        name: name('idle-overlap'),
        unit: 'stub calls at once in an idle run, one process (median of the runs)',
        baseline: null,
        optimized: median(overlap),
        ratio: null,
        target: targets.valueAtLeast(10, '= 10 (all overlap)'),
        note: `all 10 in ${allOverlap} of ${overlap.length} runs, lowest ${minOverlap}`,
      }),
    ],
    details: {
      consumer: m.shape,
      mongo_max_pool_size: pool,
      runs: res.runs,
      runs_per_s: round(res.runsPerS, 1),
      latency_ms: { p50: round(p50, 0), p90: round(percentile(res.latencies, 90), 0), p99: round(p99, 0) },
      idle_ms: { median: round(idleMs, 0), samples: idle },
      idle_overlap: overlap,
      cpu_ms_per_run: { node: round(nodeCpu, 2), servers: serverCpu, machine_all_processes: machinePerRun },
      cores_used: round(cores, 2),
      machine_busy_fraction: res.cpu.machineBusy === null ? null : round(res.cpu.machineBusy, 2),
      peak_rss_mb: round(res.peakRss / MB, 0),
      stub_calls: res.stubCalls,
      extra_deliveries: res.deferred,
      invocations: res.invocations,
      round_trips_per_run: {
        mongo: perRun(res.trips.mongo),
        sqs: perRun(res.trips.sqs),
        redis: perRun(res.trips.redis),
        dynamodb: perRun(res.trips.dynamodb),
        mongo_by_command: Object.fromEntries(Object.entries(res.trips.mongoByCommand).map(([k, v]) => [k, perRun(v)])),
      },
    },
    notes: [
      '**Single process (continuity).** The shape of every earlier e2e-throughput result: both handlers, the poller (maximum concurrency ' +
        `${m.shape.maxConcurrency}), the stub, the tracker and the workers on this process's one event loop; rows \`e2e-throughput.single-process.*\`.`,
      `${res.runs} runs in ${(res.runs / res.runsPerS).toFixed(1)} s: ${res.runsPerS.toFixed(1)} runs/s (${(res.runsPerS * (WIDTH + 1)).toFixed(0)} tasks/s); start -> completed p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms; consumer batch ${m.shape.batchSize}, maximum concurrency ${m.shape.maxConcurrency}, ${res.invocations} invocations (${(res.invocations / res.runs).toFixed(2)} per run); MongoDB pool ${pool}`,
      `idle run: median ${idleMs.toFixed(0)} ms over ${idle.length} (min ${Math.min(...idle).toFixed(0)}, max ${Math.max(...idle).toFixed(0)}); the stub saw all 10 calls at once in ${allOverlap} of ${overlap.length} runs${minOverlap < WIDTH ? ` (lowest ${minOverlap}: the single-message invocations of that run started more than 100 ms apart)` : ''}`,
      `CPU per run: Node ${nodeCpu.toFixed(1)} ms, servers ${serversTotal.toFixed(1)} ms (${Object.entries(serverCpu)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}); ${cores.toFixed(2)} cores busy on average for these processes, machine ${
        res.cpu.machineBusy === null ? '?' : `${(res.cpu.machineBusy * 100).toFixed(0)} %`
      } busy (all processes, 2 cores)`,
      `round trips per run (product's clients): ${(res.trips.mongo / res.runs).toFixed(1)} MongoDB, ${(res.trips.sqs / res.runs).toFixed(1)} SQS, ${(res.trips.redis / res.runs).toFixed(1)} Redis, ${(res.trips.dynamodb / res.runs).toFixed(1)} DynamoDB; stub calls ${res.stubCalls} for ${res.runs * WIDTH} http tasks; ${res.deferred} extra deliveries of a task attempt (fairness: promotions and delayed copies; redeliveries)`,
      `peak RSS ${(res.peakRss / MB).toFixed(0)} MB (this process holds the handlers, the poller, the stub and the bench)`,
      ...E2E_PROFILE_NOTES,
      throughputCeilingNote(nodeCpu, serversTotal, res.runsPerS),
    ],
  };
}
