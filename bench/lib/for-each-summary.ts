/** The rows, details and notes of the for-each-overhead case from its samples. */
import type { ShapeTiming } from './command-timings.js';
import type { RoundTrips } from './counters.js';
import { median, round, row, targets } from './stats.js';
import type { CaseOutcome, Row } from './types.js';

/** Sequential timings of single reads after a run (ms, median). */
export interface Probe {
  load_runs_ms: number;
  by_id_ms: number;
}

export interface Sample {
  items: number;
  wallMs: number;
  /** This process's CPU (user + system) over the run. */
  cpuMs: number;
  /** Sum of the executeTask invocations' durations. */
  busyMs: number;
  invocations: number;
  redelivered: number;
  trips: RoundTrips;
  shapes: Record<string, ShapeTiming>;
  probe?: Probe;
}

interface SizeStats {
  items: number;
  run_ms: number;
  run_ms_per_item: number;
  cpu_ms_per_item: number;
  busy_ms_per_item: number;
  mongo_per_item: number;
  sqs_per_item: number;
  redis_per_item: number;
  invocations: number;
  mongo_per_invocation: number;
  redelivered: number;
  probe: Probe | null;
  /** Per MongoDB command shape: calls per item, mean ms per call (timed runs), reply bytes per call (profile run). */
  mongo_by_shape: Record<string, { per_item: number; ms_each: number; bytes_each: number | null }>;
}

function sizeStats(n: number, xs: Sample[], profile: Sample | undefined): SizeStats {
  const med = (f: (s: Sample) => number) => median(xs.map(f));
  const total = new Map<string, ShapeTiming>();
  for (const s of xs)
    for (const [k, v] of Object.entries(s.shapes)) {
      const t = total.get(k) ?? { count: 0, ms: 0, bytes: 0 };
      total.set(k, { count: t.count + v.count, ms: t.ms + v.ms, bytes: 0 });
    }
  const shapes: SizeStats['mongo_by_shape'] = {};
  for (const [k, v] of [...total].sort((a, b) => b[1].count - a[1].count)) {
    const p = profile?.shapes[k];
    shapes[k] = {
      per_item: round(v.count / xs.length / n, 3),
      ms_each: round(v.ms / v.count, 2),
      bytes_each: p && p.count > 0 ? Math.round(p.bytes / p.count) : null,
    };
  }
  return {
    items: n,
    run_ms: round(
      med((s) => s.wallMs),
      0,
    ),
    run_ms_per_item: round(
      med((s) => s.wallMs / n),
      2,
    ),
    cpu_ms_per_item: round(
      med((s) => s.cpuMs / n),
      2,
    ),
    busy_ms_per_item: round(
      med((s) => s.busyMs / n),
      2,
    ),
    mongo_per_item: round(
      med((s) => s.trips.mongo / n),
      3,
    ),
    sqs_per_item: round(
      med((s) => s.trips.sqs / n),
      3,
    ),
    redis_per_item: round(
      med((s) => s.trips.redis / n),
      3,
    ),
    invocations: med((s) => s.invocations),
    mongo_per_invocation: round(
      med((s) => s.trips.mongo / s.invocations),
      2,
    ),
    redelivered: med((s) => s.redelivered),
    probe: profile?.probe
      ? { load_runs_ms: round(profile.probe.load_runs_ms), by_id_ms: round(profile.probe.by_id_ms) }
      : null,
    mongo_by_shape: shapes,
  };
}

function ratioRow(id: string, name: string, what: string, a: SizeStats, b: SizeStats, key: keyof SizeStats): Row {
  const base = a[key] as number;
  const opt = b[key] as number;
  return row({
    case: id,
    name: `${id}.${name}`,
    unit: `${what}: at ${a.items} vs at ${b.items}`,
    baseline: base,
    optimized: opt,
    ratio: round(opt / base),
    target: targets.ratioAtMost(1.5, '<= 1.5x'),
    note: `per-item cost at ${b.items} / at ${a.items} items`,
  });
}

/** Rows: per-item run time per size (info), and the growth ratios (largest vs smallest, vs the largest but one). */
export function summarizeForEach(
  id: string,
  sizes: number[],
  samples: Map<number, Sample[]>,
  profiles: Map<number, Sample>,
  deployed: Sample | undefined,
): CaseOutcome {
  const stats = sizes.map((n) => sizeStats(n, samples.get(n) ?? [], profiles.get(n)));
  const first = stats[0] as SizeStats;
  const last = stats[stats.length - 1] as SizeStats;
  const prev = stats[stats.length - 2] as SizeStats;
  const rows: Row[] = stats.map((s) =>
    row({
      case: id,
      name: `${id}.per-item.${s.items}`,
      unit: `ms per item (run time of ${s.items} items / ${s.items})`,
      baseline: null,
      optimized: s.run_ms_per_item,
      ratio: null,
      target: targets.info(),
      note: `run ${s.run_ms} ms; engine CPU ${s.cpu_ms_per_item} ms and ${s.mongo_per_item} MongoDB round trips per item`,
    }),
  );
  rows.push(
    ratioRow(id, 'growth', 'ms per item', first, last, 'run_ms_per_item'),
    ratioRow(id, 'growth-saturated', 'ms per item', prev, last, 'run_ms_per_item'),
    ratioRow(id, 'mongo-per-item', 'MongoDB round trips per item', first, last, 'mongo_per_item'),
    loadRunsRow(id, first, last),
  );
  const shapeLine = Object.entries(last.mongo_by_shape)
    .filter(([, v]) => v.per_item >= 0.05)
    .map(([k, v]) => {
      const f = first.mongo_by_shape[k];
      const b = (x: number | null | undefined) => (x === null || x === undefined ? '' : ` / ${x} B`);
      return `${k}: ${f?.ms_each ?? '?'} ms${b(f?.bytes_each)} per call at ${first.items} -> ${v.ms_each} ms${b(v.bytes_each)} at ${last.items}`;
    });
  return {
    rows,
    details: {
      sizes,
      per_size: stats,
      deployed_fairness_cap_50: deployed
        ? {
            items: deployed.items,
            run_ms: round(deployed.wallMs, 0),
            run_ms_per_item: round(deployed.wallMs / deployed.items, 2),
            redelivered: deployed.redelivered,
          }
        : null,
    },
    notes: [
      ...stats.map(
        (s) =>
          `${s.items} items: run ${s.run_ms} ms = ${s.run_ms_per_item} ms/item; engine CPU ${s.cpu_ms_per_item} ms/item, handler busy ${s.busy_ms_per_item} ms/item; ` +
          `per item ${s.mongo_per_item} MongoDB, ${s.sqs_per_item} SQS, ${s.redis_per_item} Redis round trips; ${s.invocations} invocations (${s.mongo_per_invocation} MongoDB round trips each), ${s.redelivered} redelivered`,
      ),
      ...(profiles.size > 0 ? [] : ['quick mode: reply sizes and the default-cap run are measured in full mode only']),
      `MongoDB per command shape (mean time per call in the timed runs${profiles.size > 0 ? ', reply size from one extra run' : ''}): ${shapeLine.join('; ')}`,
      ...growingReads(first, last),
      ...(stats.every((s) => s.probe)
        ? [
            `one read alone after a run (median of 101): loadRuns of the run (the execution and its graph tasks) ${stats.map((s) => `${s.probe?.load_runs_ms} ms at ${s.items}`).join(', ')}; the execution by _id ${stats.map((s) => `${s.probe?.by_id_ms} ms`).join(', ')}`,
          ]
        : []),
      ...(deployed
        ? [
            `at the default fairness cap (50 running tasks per tenant, below the deployed consumer's 100 messages in flight) one run of ${deployed.items} items took ${round(deployed.wallMs, 0)} ms (${round(deployed.wallMs / deployed.items, 2)} ms/item, vs ${last.run_ms_per_item} uncapped) with ${deployed.redelivered} extra deliveries (fairness: delayed copies and promotions)`,
          ]
        : []),
    ],
  };
}

/** The per-batch reads whose reply carries the list (the alert) or the loop's open items. */
const LIST_READS: Array<[string, string]> = [
  ['find playbook_execution {_id,tenant_code}', 'the execution (its alert holds the list)'],
  ['find task_execution {item_of,peid,tenant_code}', "the run's graph tasks (the loop task's open_items)"],
  ['findAndModify task_execution {_id,tenant_code}', 'closeItems (returns the loop task with open_items)'],
];

function growingReads(first: SizeStats, last: SizeStats): string[] {
  const parts = LIST_READS.flatMap(([shape, what]) => {
    const a = first.mongo_by_shape[shape]?.bytes_each;
    const b = last.mongo_by_shape[shape]?.bytes_each;
    return a && b ? [`${what} ${a} -> ${b} B`] : [];
  });
  if (parts.length === 0) return [];
  return [
    `reads sent once per batch whose size grows with the list, at ${first.items} -> ${last.items} items: ${parts.join(', ')}; ` +
      'an O(N) term per batch whose decoding costs little (engine CPU per item is flat). The graph-tasks read of every ' +
      "batch's loadRuns also examines every item of the run: on MongoDB peid_seq {peid, task_seq} selects the run's tasks and " +
      "items alike (items share the loop's peid and task_seq) and item_of is checked on the fetched documents; the emulator's " +
      'peid lookup (tools/emulators) visits the same documents. The load-runs row times that read alone',
  ];
}

/** The batch's run read alone (informational): it grows with the run's items, see the notes. */
function loadRunsRow(id: string, first: SizeStats, last: SizeStats): Row {
  const a = first.probe?.load_runs_ms ?? null;
  const b = last.probe?.load_runs_ms ?? null;
  return row({
    case: id,
    name: `${id}.load-runs`,
    unit: `ms per loadRuns of the run: at ${first.items} vs at ${last.items} items`,
    baseline: a,
    optimized: b,
    ratio: a && b ? round(b / a) : null,
    target: targets.info(),
    note: "one batch's run read alone after the run (execution by _id + graph tasks by peid), sequential median",
    ...(a && b ? {} : { skipped: 'full mode only' }),
  });
}
