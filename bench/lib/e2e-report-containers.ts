/**
 * The e2e-throughput case's main rows (the functions as container processes, bench/lib/e2e-processes.ts):
 * throughput, idle latency, and per run the product's CPU and round trips, the harness's CPU and the
 * local servers', with the targets they answer; a per-run table (under load, idle) and a targets table.
 */
import type { ProcessesPhase, ProcessesResult } from './e2e-containers.js';
import { batchesNote, E2E_PIPELINE_PROFILE_NOTES } from './e2e-notes.js';
import { fmtNum, median, percentile, round, row, shortfall, targets } from './stats.js';
import type { CaseOutcome, Row, Target } from './types.js';

const WIDTH = 10;

/** The case's targets on the container shape (the issue that asked for it sets them). */
export const CONTAINER_TARGETS = {
  runsPerS: targets.valueAtLeast(66, '>= 66 runs/s'),
  idleMs: targets.valueAtMost(150, '<= 150 ms'),
  mongoPerRun: targets.valueAtMost(10, '<= 10'),
  invocationsPerRun: targets.valueAtMost(1.1, '<= 1.1'),
  productCpuPerRun: targets.valueAtMost(15, '<= 15 ms'),
};

/** Product handler CPU of a phase: executeTask and runPlaybook while an invocation was in flight. */
export const productCpu = (p: ProcessesPhase) => p.cpu.consumerInvocationsMs + p.cpu.startInvocationsMs;
const serversCpu = (p: ProcessesPhase) => Object.values(p.cpu.servers).reduce((a, b) => a + b, 0);

/** "MET" / "MISSED by ..." for a target table. */
export function metOrMissed(target: Target, value: number, unit = ''): string {
  const gap = shortfall(target, value, unit);
  return gap ? `**MISSED** ${gap}` : 'MET';
}

function perRunTable(r: ProcessesResult): string {
  const { load, idle } = r;
  const cell = (p: ProcessesPhase, f: (p: ProcessesPhase) => number | null) => {
    const v = f(p);
    return v === null ? '?' : fmtNum(v / p.runs);
  };
  const line = (what: string, f: (p: ProcessesPhase) => number | null) =>
    `| ${what} | ${cell(load, f)} | ${cell(idle, f)} |`;
  const servers = Object.keys(load.cpu.servers).sort();
  const ours = (p: ProcessesPhase) =>
    p.cpu.consumerProcessesMs + p.cpu.startProcessMs + p.cpu.harnessMs + serversCpu(p);
  return [
    `**Per run, the functions as containers** (${r.containers} executeTask processes + 1 runPlaybook process). ` +
      `Under load: totals over ${load.runs} runs at ${50} in flight / ${load.runs}; idle: totals over ${idle.runs} runs ` +
      `one at a time / ${idle.runs} (the idle latency is their median, above).`,
    '',
    '| per run | under load | idle |',
    '|---|---:|---:|',
    line(
      '**product handler CPU, ms** (executeTask + runPlaybook, while an invocation was in flight; target <= 15)',
      productCpu,
    ),
    line('&nbsp;&nbsp;executeTask, in invocations', (p) => p.cpu.consumerInvocationsMs),
    line('&nbsp;&nbsp;runPlaybook, in invocations', (p) => p.cpu.startInvocationsMs),
    line(
      'product processes CPU, ms (whole processes: + IPC runtime, driver timers, GC between invocations)',
      (p) => p.cpu.consumerProcessesMs + p.cpu.startProcessMs,
    ),
    line('**harness CPU, ms** (bench process: event source, stub, tracker, workers)', (p) => p.cpu.harnessMs),
    line('**local servers CPU, ms**', serversCpu),
    ...servers.map((s) => line(`&nbsp;&nbsp;${s}`, (p) => p.cpu.servers[s] ?? 0)),
    line('machine busy, ms (every process, other users included)', (p) => p.cpu.machineBusyMs),
    line('&nbsp;&nbsp;of which not ours (other work on the machine)', (p) =>
      p.cpu.machineBusyMs === null ? null : Math.max(0, p.cpu.machineBusyMs - ours(p)),
    ),
    line('**MongoDB commands** (product; target <= 10 under load)', (p) => p.product.mongo),
    line('**SQS calls** (product: sends)', (p) => p.product.sqs),
    line('**Redis calls** (product)', (p) => p.product.redis),
    line('**DynamoDB calls** (product: idempotency)', (p) => p.product.dynamodb),
    line('**consumer invocations** (target <= 1.1 under load)', (p) => p.invocations),
    line('messages handed to executeTask', (p) => p.records),
    line('executeTask invocation time, ms (wall, summed)', (p) => p.consumerInvocationWallMs),
    line('harness MongoDB commands (the tracker polling for completion)', (p) => p.trackerMongo),
    line('harness SQS calls (the event source: receives, deletes)', (p) => p.eventSourceSqs),
    line('extra deliveries of a task attempt (fairness, redeliveries)', (p) => p.deferred),
  ].join('\n');
}

function targetsTable(r: ProcessesResult): string {
  const { load, idle } = r;
  const idleMs = median(idle.latencies);
  const lines: Array<[string, Target, number, string]> = [
    ['e2e-throughput at 50 in flight (containers)', CONTAINER_TARGETS.runsPerS, load.runsPerS, 'runs/s'],
    [`idle run, median of ${idle.runs}`, CONTAINER_TARGETS.idleMs, idleMs, 'ms'],
    ['MongoDB commands per run under load', CONTAINER_TARGETS.mongoPerRun, load.product.mongo / load.runs, ''],
    ['consumer invocations per run under load', CONTAINER_TARGETS.invocationsPerRun, load.invocations / load.runs, ''],
    ['product handler CPU per run under load', CONTAINER_TARGETS.productCpuPerRun, productCpu(load) / load.runs, 'ms'],
  ];
  return [
    '**Targets (container shape)**',
    '',
    '| target | bound | measured | result |',
    '|---|---|---:|---|',
    ...lines.map(
      ([what, t, v, unit]) =>
        `| ${what} | ${t.text} | ${fmtNum(v)}${unit ? ` ${unit}` : ''} | ${metOrMissed(t, v, unit)} |`,
    ),
  ].join('\n');
}

const phaseDetails = (p: ProcessesPhase) => {
  const per = (x: number) => round(x / p.runs, 2);
  return {
    runs: p.runs,
    wall_ms: round(p.wallMs, 0),
    cpu_ms_per_run: {
      product_handlers: per(productCpu(p)),
      execute_task_invocations: per(p.cpu.consumerInvocationsMs),
      run_playbook_invocations: per(p.cpu.startInvocationsMs),
      execute_task_processes: per(p.cpu.consumerProcessesMs),
      run_playbook_process: per(p.cpu.startProcessMs),
      harness: per(p.cpu.harnessMs),
      servers: Object.fromEntries(Object.entries(p.cpu.servers).map(([k, v]) => [k, per(v)])),
      machine_all_processes: p.cpu.machineBusyMs === null ? null : per(p.cpu.machineBusyMs),
    },
    machine_busy_fraction: p.cpu.machineBusy === null ? null : round(p.cpu.machineBusy, 2),
    product_calls_per_run: {
      mongo: per(p.product.mongo),
      sqs: per(p.product.sqs),
      redis: per(p.product.redis),
      dynamodb: per(p.product.dynamodb),
      mongo_by_command: Object.fromEntries(Object.entries(p.product.mongoByCommand).map(([k, v]) => [k, per(v)])),
      execute_task: { mongo: per(p.consumer.mongo), sqs: per(p.consumer.sqs), redis: per(p.consumer.redis) },
      run_playbook: {
        mongo: per(p.start.mongo),
        sqs: per(p.start.sqs),
        redis: per(p.start.redis),
        dynamodb: per(p.start.dynamodb),
      },
    },
    harness_calls_per_run: { tracker_mongo: per(p.trackerMongo), event_source_sqs: per(p.eventSourceSqs) },
    invocations_per_run: per(p.invocations),
    invocations_reaching_a_run: per(p.runSlices),
    messages_per_invocation: p.invocations > 0 ? round(p.records / p.invocations, 2) : null,
    invocation_wall_ms_mean: p.invocations > 0 ? round(p.consumerInvocationWallMs / p.invocations, 1) : null,
    extra_deliveries: p.deferred,
  };
};

export function containersOutcome(r: ProcessesResult): CaseOutcome {
  const { load, idle } = r;
  const p50 = percentile(load.latencies, 50);
  const p99 = percentile(load.latencies, 99);
  const idleMs = median(idle.latencies);
  const per = (x: number) => round(x / load.runs, 2);
  const name = (s: string) => `e2e-throughput.${s}`;
  const mk = (n: string, unit: string, v: number, target: Target = targets.info(), note?: string): Row =>
    row({
      case: 'e2e-throughput',
      name: name(n),
      unit,
      baseline: null,
      optimized: v,
      ratio: null,
      target,
      ...(note ? { note } : {}),
    });
  const shape = `${r.containers} executeTask containers`;
  const meanInvocation = load.invocations > 0 ? load.consumerInvocationWallMs / load.invocations : 0;
  const perInvocation = load.invocations > 0 ? load.records / load.invocations : 0;
  // What the consumer alone could do: every container busy, invocations as long and as full as measured.
  const consumerCeiling = meanInvocation > 0 ? (r.containers * perInvocation * 1000) / meanInvocation / WIDTH : 0;
  const minOverlap = Math.min(...idle.overlap);
  const allOverlap = idle.overlap.filter((n) => n === WIDTH).length;
  return {
    rows: [
      mk(
        'runs-per-s',
        `runs/s completed (${load.runs} runs, 50 in flight, ${shape})`,
        round(load.runsPerS, 1),
        CONTAINER_TARGETS.runsPerS,
        'peer engine on 2 cores: 33-46 runs/s with 50 in flight',
      ),
      mk('latency-p50', 'ms start request -> run completed (p50, under load)', round(p50, 0)),
      mk('latency-p99', 'ms start request -> run completed (p99, under load)', round(p99, 0)),
      mk(
        'idle-latency',
        `ms one run alone (median of ${idle.runs}, ${shape})`,
        round(idleMs, 0),
        CONTAINER_TARGETS.idleMs,
        'peer engine: 154 ms, floor 104 ms',
      ),
      mk(
        'product-cpu-per-run',
        'CPU ms per run under load, product handlers (executeTask + runPlaybook, in invocations)',
        per(productCpu(load)),
        CONTAINER_TARGETS.productCpuPerRun,
      ),
      mk(
        'mongo-per-run',
        'MongoDB commands per run under load (product)',
        per(load.product.mongo),
        CONTAINER_TARGETS.mongoPerRun,
      ),
      mk(
        'invocations-per-run',
        'executeTask invocations per run under load',
        per(load.invocations),
        CONTAINER_TARGETS.invocationsPerRun,
      ),
      mk(
        'batches-per-run',
        'executeTask invocations that had messages of a run, per run under load (1: each run in one batch)',
        per(load.runSlices),
      ),
      mk('sqs-per-run', 'SQS calls per run under load (product)', per(load.product.sqs)),
      mk('redis-per-run', 'Redis calls per run under load (product)', per(load.product.redis)),
      mk('dynamodb-per-run', 'DynamoDB calls per run under load (product)', per(load.product.dynamodb)),
      mk(
        'harness-cpu-per-run',
        'CPU ms per run under load, harness (bench process: event source, stub, tracker)',
        per(load.cpu.harnessMs),
      ),
      mk('servers-cpu-per-run', 'CPU ms per run under load, local servers (all four)', per(serversCpu(load))),
      mk(
        'idle.product-cpu-per-run',
        'CPU ms per idle run, product handlers (in invocations)',
        round(productCpu(idle) / idle.runs, 2),
      ),
      mk('idle.mongo-per-run', 'MongoDB commands per idle run (product)', round(idle.product.mongo / idle.runs, 2)),
      mk('idle.invocations-per-run', 'executeTask invocations per idle run', round(idle.invocations / idle.runs, 2)),
      mk(
        'idle-overlap',
        `stub calls at once in an idle run (median of the runs, ${shape})`,
        median(idle.overlap),
        targets.valueAtLeast(10, '= 10 (all overlap)'),
        `all 10 in ${allOverlap} of ${idle.overlap.length} runs, lowest ${minOverlap}`,
      ),
    ],
    details: {
      shape: { ...r.shape, execute_task_containers: r.containers, run_playbook_containers: 1 },
      runs_per_s: round(load.runsPerS, 1),
      latency_ms: { p50: round(p50, 0), p90: round(percentile(load.latencies, 90), 0), p99: round(p99, 0) },
      idle_ms: { median: round(idleMs, 0), samples: idle.latencies },
      idle_overlap: idle.overlap,
      consumer_ceiling_runs_per_s: round(consumerCeiling, 1),
      load: { ...phaseDetails(load), stub_calls: load.stubCalls },
      idle: { ...phaseDetails(idle), stub_calls: idle.stubCalls },
    },
    notes: [
      `**Containers (the main rows).** ${load.runs} runs in ${(load.wallMs / 1000).toFixed(1)} s: ${load.runsPerS.toFixed(1)} runs/s; start -> completed p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms; ${load.invocations} executeTask invocations (${(load.invocations / load.runs).toFixed(2)} per run, ${perInvocation.toFixed(1)} messages and ${meanInvocation.toFixed(0)} ms each on average)`,
      `consumer ceiling at this invocation length and fill: ${r.containers} containers x ${perInvocation.toFixed(1)} messages / ${meanInvocation.toFixed(0)} ms = ${consumerCeiling.toFixed(0)} runs/s (${WIDTH} messages a run); the machine was ${load.cpu.machineBusy === null ? '?' : `${(load.cpu.machineBusy * 100).toFixed(0)} %`} busy during the load (all processes, 2 cores)`,
      `idle run: median ${idleMs.toFixed(0)} ms over ${idle.runs} (min ${Math.min(...idle.latencies).toFixed(0)}, max ${Math.max(...idle.latencies).toFixed(0)}); ${(idle.invocations / idle.runs).toFixed(1)} executeTask invocations per run; the stub saw all 10 calls at once in ${allOverlap} of ${idle.overlap.length} runs`,
      batchesNote(per(load.runSlices)),
      ...E2E_PIPELINE_PROFILE_NOTES,
    ],
    tables: [targetsTable(r), perRunTable(r)],
  };
}
