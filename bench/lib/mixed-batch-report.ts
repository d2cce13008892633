/** The mixed-batch case's METHOD, rows, targets table and notes (bench/cases/mixed-batch.ts). */
import { metOrMissed } from './e2e-report-containers.js';
import type { DependentDelay } from './mixed-batch-delays.js';
import { fmtNum, median, percentile, round, row, targets } from './stats.js';
import type { CaseOutcome, Row } from './types.js';

const c = '`';

export const MIXED_METHOD = `
**Workload.** Two playbooks of two tenants: tenant A's has one http task on the stub's ${c}/delay/5000${c} (the slow one: a sandbox
detonation, say) and 4 on ${c}/delay/50${c}; tenant B's has 5 on ${c}/delay/50${c}. Every fast task ${c}fast_i${c} has one dependent ${c}after_i${c}:
an http task (even i: a POST to the stub, which goes through the queue) or a ${c}transform${c} (odd i: which the engine may run in the
invocation that decided it). A batch is one run of each: 1 slow + 9 fast root tasks, 10 messages, two tenants.
**The batch is made, not hoped for.** With no poller running, the bench starts 2 pairs of runs through functions/run-playbook.ts,
receives every message on the queue (the 20 roots), groups them by pair and hands each group to functions/execute-task.ts as one
SQS event (records built by tools/sqs-event-source, as Lambda builds them; the two batches at once), then deletes what the
handler did not report failed, as the event source does. Meanwhile the Lambda-like poller (the deployed shape: batches of 10, 10
invocations at once) consumes what the batches lead to (the http dependents). That every batch mixed both tenants' roots is
checked (the case fails otherwise), and the task records show whether one invocation claimed them (one claim instant per batch).
**Measured.** For each of the 9 fast tasks of a batch: the dependent's ${c}started_at${c} (the claim of the invocation that ran it) minus
the parent's ${c}finished_at${c} (the end of the parent's own call, stamped when it ends), from the stored task records, once the runs
completed. 6 rounds of 2 batches (108 delays) after one warm-up round; --quick: 1 round (18), no warm-up. p50, p95 (nearest rank)
and the maximum; also by dependent type and by tenant (B's tasks share a batch with another tenant's slow task).
`;

export interface BatchCheck {
  messages: number;
  tenants: number;
  /** Distinct claim times of the batch's root tasks (1: one invocation took them all). */
  claimInstants: number;
  /** Records the handler reported failed. */
  failed: number;
}

const TARGET = targets.valueAtMost(150, '<= 150 ms (p95)');

function summary(delays: DependentDelay[]): string {
  const ms = delays.map((d) => d.delayMs);
  if (ms.length === 0) return 'none';
  return `p50 ${fmtNum(percentile(ms, 50))} ms, p95 ${fmtNum(percentile(ms, 95))} ms, max ${fmtNum(Math.max(...ms))} ms (${ms.length})`;
}

export function mixedOutcome(m: {
  delays: DependentDelay[];
  checks: BatchCheck[];
  slowMs: number[];
  rounds: number;
  batchesPerRound: number;
}): CaseOutcome {
  const ms = m.delays.map((d) => d.delayMs);
  const p50 = percentile(ms, 50);
  const p95 = percentile(ms, 95);
  const max = Math.max(...ms);
  const tenants = [...new Set(m.delays.map((d) => d.tenant_code))].sort();
  const types = [...new Set(m.delays.map((d) => d.type))].sort();
  const oneClaim = m.checks.filter((b) => b.claimInstants === 1).length;
  const failed = m.checks.reduce((a, b) => a + b.failed, 0);
  const mk = (name: string, unit: string, v: number, target = targets.info()): Row =>
    row({
      case: 'mixed-batch',
      name: `mixed-batch.${name}`,
      unit,
      baseline: null,
      optimized: round(v, 0),
      ratio: null,
      target,
    });
  const unit = (what: string) => `ms fast task finished -> its dependent started (${what}, ${ms.length} dependents)`;
  return {
    rows: [
      mk('dependent-start-p95', unit('p95'), p95, TARGET),
      mk('dependent-start-p50', unit('p50'), p50),
      mk('dependent-start-max', unit('max'), max),
    ],
    details: {
      rounds: m.rounds,
      batches_per_round: m.batchesPerRound,
      batches: m.checks,
      delay_ms: { p50: round(p50, 0), p95: round(p95, 0), max: round(max, 0), samples: ms.map((x) => round(x, 0)) },
      by_type: Object.fromEntries(
        types.map((t) => {
          const xs = m.delays.filter((d) => d.type === t).map((d) => d.delayMs);
          return [t, { n: xs.length, p50: round(percentile(xs, 50), 0), p95: round(percentile(xs, 95), 0) }];
        }),
      ),
      by_tenant: Object.fromEntries(
        tenants.map((t) => {
          const xs = m.delays.filter((d) => d.tenant_code === t).map((d) => d.delayMs);
          return [t, { n: xs.length, p50: round(percentile(xs, 50), 0), p95: round(percentile(xs, 95), 0) }];
        }),
      ),
      slow_task_ms: { median: round(median(m.slowMs), 0), samples: m.slowMs },
    },
    tables: [
      [
        '**Target**',
        '',
        '| target | bound | measured | result |',
        '|---|---|---:|---|',
        `| fast task finished -> dependent started, p95 | ${TARGET.text} | ${fmtNum(p95)} ms | ${metOrMissed(TARGET, p95, 'ms')} |`,
      ].join('\n'),
    ],
    notes: [
      `${m.checks.length} batches of ${m.checks.map((b) => b.messages).join('/')} messages, each with both tenants' roots; the roots of ${oneClaim} of them were claimed at one instant (one invocation)${failed > 0 ? `; ${failed} records reported failed by the handler (redelivered by the poller)` : ''}`,
      `fast task finished -> dependent started: ${summary(m.delays)}; the slow task took ${fmtNum(median(m.slowMs))} ms (median)`,
      `by dependent type: ${types.map((t) => `${t} ${summary(m.delays.filter((d) => d.type === t))}`).join('; ')}`,
      `by tenant: ${tenants.map((t) => `${t} ${summary(m.delays.filter((d) => d.tenant_code === t))}`).join('; ')} (tenant B's tasks share their batch with tenant A's slow task)`,
    ],
  };
}
