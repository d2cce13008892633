/** The e2e-throughput case's rows, details and notes from its measurements (bench/cases/e2e-throughput.ts). */
import { getConfig } from '../../lib/config.js';
import type { ConsumerShape } from './consumer.js';
import { E2E_PROFILE_NOTES, throughputCeilingNote } from './e2e-notes.js';
import type { CpuDelta } from './proc-cpu.js';
import { median, percentile, round, row, targets } from './stats.js';
import type { CaseOutcome } from './types.js';

const WIDTH = 10;

export interface LoadResult {
  runs: number;
  runsPerS: number;
  latencies: number[];
  cpu: CpuDelta;
  peakRss: number;
  stubCalls: number;
  deferred: number;
  invocations: number;
  trips: { mongo: number; sqs: number; redis: number; mongoByCommand: Record<string, number> };
}

const MB = 1024 * 1024;

export function e2eOutcome(m: {
  res: LoadResult;
  idle: number[];
  /** The same idle runs with the consumer as separate processes, one per container. */
  idleProcesses: number[];
  processes: number;
  overlap: number[];
  deployed: LoadResult | undefined;
  shape: ConsumerShape;
  tenants: number;
}): CaseOutcome {
  const { res, idle, overlap, deployed } = m;
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
  const name = (s: string) => `e2e-throughput.${s}`;
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
  return {
    rows: [
      row({
        case: 'e2e-throughput',
        name: name('runs-per-s'),
        unit: `runs/s completed (${res.runs} runs, 50 in flight)`,
        baseline: null,
        optimized: round(res.runsPerS, 1),
        ratio: null,
        target: targets.valueAtLeast(100, '>= 100 runs/s'),
        note: 'peer engine on 2 cores: ~33 runs/s with 50 in flight',
      }),
      info('latency-p50', 'ms start request -> run completed (p50, under load)', round(p50, 0)),
      info('latency-p99', 'ms start request -> run completed (p99, under load)', round(p99, 0)),
      row({
        case: 'e2e-throughput',
        name: name('idle-latency'),
        unit: `ms one run alone (median of ${idle.length})`,
        baseline: null,
        optimized: round(idleMs, 0),
        ratio: null,
        target: targets.valueAtMost(150, '<= 150 ms'),
        note: 'peer engine: ~150 ms',
      }),
      info(
        'idle-latency-processes',
        `ms one run alone, the consumer as ${m.processes} processes (one per container; median of ${m.idleProcesses.length})`,
        round(median(m.idleProcesses), 0),
      ),
      info('cpu-node', 'CPU ms per run, this Node process (handlers, poller, stub, bench)', round(nodeCpu, 1)),
      info(
        'cpu-servers',
        'CPU ms per run, local servers (MongoDB, SQS, Redis, DynamoDB emulators)',
        round(serversTotal, 1),
      ),
      info(
        'peak-rss',
        'MB peak RSS of the Node process during the load',
        round(res.peakRss / MB, 0),
        'peer: 540-890 MB',
      ),
      row({
        case: 'e2e-throughput',
        name: name('idle-overlap'),
        unit: 'stub calls at once in an idle run (median of the runs)',
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
      tenants: m.tenants,
      runs: res.runs,
      runs_per_s: round(res.runsPerS, 1),
      latency_ms: { p50: round(p50, 0), p90: round(percentile(res.latencies, 90), 0), p99: round(p99, 0) },
      idle_ms: { median: round(idleMs, 0), samples: idle },
      idle_ms_consumer_processes: {
        processes: m.processes,
        median: round(median(m.idleProcesses), 0),
        samples: m.idleProcesses,
      },
      idle_overlap: overlap,
      cpu_ms_per_run: { node: round(nodeCpu, 2), servers: serverCpu, machine_all_processes: machinePerRun },
      cores_used: round(cores, 2),
      machine_busy_fraction: res.cpu.machineBusy === null ? null : round(res.cpu.machineBusy, 2),
      peak_rss_mb: round(res.peakRss / MB, 0),
      max_rss_mb_process_lifetime: round((process.resourceUsage().maxRSS * 1024) / MB, 0),
      stub_calls: res.stubCalls,
      extra_deliveries: res.deferred,
      invocations: res.invocations,
      round_trips_per_run: {
        mongo: round(res.trips.mongo / res.runs, 2),
        sqs: round(res.trips.sqs / res.runs, 2),
        redis: round(res.trips.redis / res.runs, 2),
        mongo_by_command: Object.fromEntries(
          Object.entries(res.trips.mongoByCommand).map(([k, v]) => [k, round(v / res.runs, 2)]),
        ),
      },
      ...(deployed
        ? {
            deployed_concurrency_10: {
              runs: deployed.runs,
              runs_per_s: round(deployed.runsPerS, 1),
              p50: round(percentile(deployed.latencies, 50), 0),
              p99: round(percentile(deployed.latencies, 99), 0),
              invocations: deployed.invocations,
              cpu_ms_per_run: {
                node: round(deployed.cpu.nodeMs / deployed.runs, 2),
                servers: round(Object.values(deployed.cpu.servers).reduce((a, b) => a + b, 0) / deployed.runs, 2),
              },
              mongo_round_trips_per_run: round(deployed.trips.mongo / deployed.runs, 2),
            },
          }
        : {}),
    },
    notes: [
      `idle run with the consumer as ${m.processes} processes, one batch at a time each (one per Lambda container, each with its own event loop; the 2 cores are still shared): median ${median(m.idleProcesses).toFixed(0)} ms over ${m.idleProcesses.length} (min ${Math.min(...m.idleProcesses).toFixed(0)}, max ${Math.max(...m.idleProcesses).toFixed(0)}), against ${idleMs.toFixed(0)} ms with every invocation on this process's one thread`,
      `${res.runs} runs in ${(res.runs / res.runsPerS).toFixed(1)} s: ${res.runsPerS.toFixed(1)} runs/s (${(res.runsPerS * (WIDTH + 1)).toFixed(0)} tasks/s); start -> completed p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms; consumer batch ${m.shape.batchSize}, maximum concurrency ${m.shape.maxConcurrency}, ${res.invocations} invocations; MongoDB pool ${pool}`,
      `idle run: median ${idleMs.toFixed(0)} ms over ${idle.length} (min ${Math.min(...idle).toFixed(0)}, max ${Math.max(...idle).toFixed(0)}); the stub saw all 10 calls at once in ${allOverlap} of ${overlap.length} runs ${minOverlap < WIDTH ? ` (lowest ${minOverlap}: the 10 single-message invocations of that run started more than 100 ms apart)` : ''}`,
      `CPU per run: Node ${nodeCpu.toFixed(1)} ms, servers ${serversTotal.toFixed(1)} ms (${Object.entries(serverCpu)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}); ${cores.toFixed(2)} cores busy on average for these processes, machine ${
        res.cpu.machineBusy === null ? '?' : `${(res.cpu.machineBusy * 100).toFixed(0)} %`
      } busy (all processes, 2 cores)`,
      `round trips per run (product's clients): ${(res.trips.mongo / res.runs).toFixed(1)} MongoDB, ${(res.trips.sqs / res.runs).toFixed(1)} SQS, ${(res.trips.redis / res.runs).toFixed(1)} Redis; stub calls ${res.stubCalls} for ${res.runs * WIDTH} http tasks; ${res.deferred} extra deliveries of a task attempt (fairness: promotions and delayed copies; redeliveries)`,
      `peak RSS ${(res.peakRss / MB).toFixed(0)} MB (this process holds the handlers, the poller, the stub and the bench)`,
      ...(deployed
        ? [
            `deployed maximumConcurrency 10 on the same load (${deployed.runs} runs): ${deployed.runsPerS.toFixed(1)} runs/s, p50 ${percentile(deployed.latencies, 50).toFixed(0)} ms, p99 ${percentile(deployed.latencies, 99).toFixed(0)} ms; ${(deployed.invocations / deployed.runs).toFixed(2)} invocations per run (vs ${(res.invocations / res.runs).toFixed(2)}), ${(deployed.trips.mongo / deployed.runs).toFixed(1)} MongoDB round trips per run, CPU per run Node ${(deployed.cpu.nodeMs / deployed.runs).toFixed(1)} ms + servers ${(Object.values(deployed.cpu.servers).reduce((a, b) => a + b, 0) / deployed.runs).toFixed(1)} ms`,
          ]
        : []),
      ...E2E_PROFILE_NOTES,
      throughputCeilingNote(nodeCpu, serversTotal, res.runsPerS),
    ],
  };
}
