/**
 * Case 4, task fan-out: a run of 10 independent http tasks whose stub answers after
 * 100 ms, started through the real runPlaybook handler and executed by the real
 * executeTask handler from the real local queue. Sequential (the original Go service's "current":
 * one task at a time, consumer batch 1 and concurrency 1) vs the deployed consumer
 * (batch 10, maximum concurrency 10, serverless.yml). Latency = the product's own
 * completeddate minus the time the start request was sent, one run at a time.
 */
import type { Db } from 'mongodb';
import { handler as executeTaskHandler } from '../../functions/execute-task.js';
import { handler as runPlaybookHandler } from '../../functions/run-playbook.js';
import { playbookStore } from '../../lib/wiring/index.js';
import type { Stub } from '../../test/support/stub-server.js';
import { type ConsumerShape, createConsumer, DEPLOYED } from '../lib/consumer.js';
import type { RoundTripCounter, RoundTrips } from '../lib/counters.js';
import type { BenchEnv } from '../lib/env.js';
import { alternate, median, percentile, round, row, targets } from '../lib/stats.js';
import type { BenchCase, BenchContext, CaseOutcome } from '../lib/types.js';
import { clearRuns, fanOutPlaybook, startRunVia, storePlaybook, TENANT, waitFinished } from '../lib/workload.js';

const STUB_DELAY_MS = 100;
const SEQUENTIAL: ConsumerShape = { batchSize: 1, maxConcurrency: 1 };

const METHOD = `
**Workload.** Playbook ${'`'}fanout-10${'`'}: 10 http tasks without dependencies, each a POST to the local stub's
${'`'}/delay/100${'`'}. One run at a time: POST /runplaybook through functions/run-playbook.ts, then the consumer drains the
queue; latency = the execution's ${'`'}completeddate${'`'} (written by the product) minus the moment the request was sent.
**Sides.** Baseline: the consumer one message at a time (batch size 1, maximum concurrency 1), which is how the
original Go service ran a playbook's tasks (sequentially). Product: the deployed event source mapping (batch size 10,
maximum concurrency 10) — executeBatch runs a batch's tasks concurrently and batches run in parallel.
**Critical path.** The physical floor of the run is the stub's 100 ms plus one hop (start request -> queue ->
consumer -> result written -> run completed), measured as the median latency of a 1-task run whose stub answers at
once, on the deployed consumer. Target: product latency within 2x of that floor.
Also measured (details): batch 10 / concurrency 1 and batch 1 / concurrency 10, to show where the parallelism comes from.
`;

/** `observer`: a database handle on a client of the bench's own, so polling is not counted as the product's. */
export function taskFanoutCase(opts: {
  observer: Db;
  env: BenchEnv;
  stub: Stub;
  counter: RoundTripCounter;
}): BenchCase {
  return {
    id: 'task-fanout',
    title: 'Task fan-out: 10 parallel http tasks of 100 ms',
    claim: "Task Execution: Sequential -> 5-10 parallel, 5-10x throughput (the original's worker pool)",
    method: METHOD,
    async run(ctx: BenchContext): Promise<CaseOutcome> {
      const { observer: db, env, stub } = opts;
      await storePlaybook(
        playbookStore(),
        TENANT,
        fanOutPlaybook('fanout-10', `${stub.url}/delay/${STUB_DELAY_MS}`, 10),
      );
      await storePlaybook(playbookStore(), TENANT, fanOutPlaybook('hop-1', `${stub.url}/ok/hop`, 1));
      const consumer = createConsumer(env, executeTaskHandler);
      const oneRun = async (name: string) => {
        const sent = Date.now();
        const peid = await startRunVia(runPlaybookHandler, TENANT, name);
        const done = (await waitFinished(db, [peid], 60_000, 5)).get(peid);
        if (done?.execution_status !== 'completed') throw new Error(`run ${peid} ended ${done?.execution_status}`);
        return done.completeddate - sent;
      };
      const runsPerRound = ctx.quick ? 1 : 3;
      const side = (shape: ConsumerShape) => ({
        async run() {
          const poller = await consumer.start(shape);
          const lat: number[] = [];
          const concurrency: number[] = [];
          const trips: RoundTrips[] = [];
          const invocations: number[] = [];
          for (let i = 0; i < runsPerRound; i++) {
            stub.reset();
            const since = opts.counter.start();
            const calls0 = poller.stats.invocations;
            lat.push(await oneRun('fanout-10'));
            trips.push(since());
            invocations.push(poller.stats.invocations - calls0);
            concurrency.push(stub.maxConcurrent);
          }
          await consumer.stop();
          return { lat, concurrency, trips, invocations };
        },
      });
      try {
        const rounds = ctx.quick ? 1 : 5;
        const res = await alternate({
          warmup: 1,
          rounds,
          log: ctx.log,
          label: 'task-fanout',
          baseline: side(SEQUENTIAL),
          optimized: side(DEPLOYED),
        });
        // The floor: one hop on the deployed consumer.
        await consumer.start(DEPLOYED);
        const hops: number[] = [];
        for (let i = 0; i < (ctx.quick ? 3 : 15); i++) hops.push(await oneRun('hop-1'));
        await consumer.stop();
        // Where the parallelism comes from (details only).
        const variants: Record<string, number> = {};
        for (const shape of ctx.quick
          ? []
          : [
              { batchSize: 10, maxConcurrency: 1 },
              { batchSize: 1, maxConcurrency: 10 },
            ]) {
          const r = await side(shape).run();
          variants[`batch${shape.batchSize}_concurrency${shape.maxConcurrency}`] = round(median(r.lat), 0);
        }

        const bLat = res.baseline.flatMap((x) => x.lat);
        const oLat = res.optimized.flatMap((x) => x.lat);
        const b = median(bLat);
        const o = median(oLat);
        const hop = median(hops);
        const floor = STUB_DELAY_MS + hop;
        const overlap = median(res.optimized.flatMap((x) => x.concurrency));
        // Round trips of one run (start + consumer; the poller's own receives and deletes excluded).
        const perRun = (xs: Array<{ trips: RoundTrips[]; invocations: number[] }>) => {
          const t = xs.flatMap((x) => x.trips);
          return {
            mongo: median(t.map((x) => x.mongo)),
            sqs: median(t.map((x) => x.sqs)),
            redis: median(t.map((x) => x.redis)),
            invocations: median(xs.flatMap((x) => x.invocations)),
          };
        };
        const tripsB = perRun(res.baseline);
        const tripsO = perRun(res.optimized);
        return {
          rows: [
            row({
              case: 'task-fanout',
              name: 'task-fanout.speedup',
              unit: 'ms per run of 10 x 100 ms tasks',
              baseline: round(b, 0),
              optimized: round(o, 0),
              ratio: round(b / o),
              target: targets.ratioAtLeast(5),
              note: 'consumer batch 1 / concurrency 1 vs deployed batch 10 / concurrency 10',
            }),
            row({
              case: 'task-fanout',
              name: 'task-fanout.critical-path',
              unit: 'ms: floor (100 ms + one hop) vs product',
              baseline: round(floor, 0),
              optimized: round(o, 0),
              ratio: round(o / floor),
              target: targets.ratioAtMost(2, '<= 2x floor'),
            }),
          ],
          details: {
            runs_per_side: bLat.length,
            latency_ms: {
              baseline: { p50: round(b, 0), p99: round(percentile(bLat, 99), 0), samples: bLat },
              optimized: { p50: round(o, 0), p99: round(percentile(oLat, 99), 0), samples: oLat },
            },
            hop_ms: { median: round(hop, 0), samples: hops },
            stub_max_concurrency: {
              baseline: res.baseline.flatMap((x) => x.concurrency),
              optimized: res.optimized.flatMap((x) => x.concurrency),
            },
            variants_ms: variants,
            round_trips_per_run: { baseline: tripsB, optimized: tripsO },
          },
          notes: [
            `run latency p50 (p99): sequential ${b.toFixed(0)} (${percentile(bLat, 99).toFixed(0)}) ms, deployed ${o.toFixed(0)} (${percentile(oLat, 99).toFixed(0)}) ms over ${oLat.length} runs each`,
            `one hop (1-task run, stub answering at once): ${hop.toFixed(0)} ms median, so the floor is ${floor.toFixed(0)} ms and the product runs at ${(o / floor).toFixed(2)}x of it`,
            `the stub saw up to ${overlap} of the 10 calls at once on the deployed consumer (1 when sequential)`,
            ...(ctx.quick
              ? []
              : [
                  `variants: batch 10 / concurrency 1 ${variants.batch10_concurrency1} ms, batch 1 / concurrency 10 ${variants.batch1_concurrency10} ms`,
                ]),
            `per run (median): sequential ${tripsB.invocations} invocations, ${tripsB.mongo} MongoDB + ${tripsB.sqs} SQS + ${tripsB.redis} Redis round trips; ` +
              `deployed ${tripsO.invocations} invocations, ${tripsO.mongo} MongoDB + ${tripsO.sqs} SQS + ${tripsO.redis} Redis`,
          ],
        };
      } finally {
        await consumer.close();
        await clearRuns(db);
      }
    },
  };
}
