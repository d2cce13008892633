/**
 * The e2e-throughput case in the deployed shape: executeTask as `maxConcurrency` container
 * processes (one invocation at a time each), runPlaybook as one process (bench/lib/containers.ts),
 * and this process as the harness only: the event source (the Lambda-like poller, its own SQS
 * client), the stub, the run tracker (its own MongoDB client) and the workers that start runs.
 * Each phase is measured between two snapshots: CPU of every process and local server, the product
 * clients' round trips counted inside the containers, invocations, the harness's own calls.
 */
import type { SQSEvent } from 'aws-lambda';
import type { Db } from 'mongodb';
import { createMongoClient } from '../../lib/clients.js';
import { getConfig } from '../../lib/config.js';
import type { Stub } from '../../test/support/stub-server.js';
import { type ConsumerShape, createConsumer, redeliveryCounter } from './consumer.js';
import type { ContainerStats } from './container-protocol.js';
import { type ContainerPool, EXECUTE_TASK, RUN_PLAYBOOK, startContainers } from './containers.js';
import { countAwsRequests, countMongoCommands, type RoundTrips, sumTrips, tripsBetween } from './counters.js';
import { type Driven, driveRuns, type IdleRuns, IN_FLIGHT, idleRuns, type StartInvoker } from './e2e-load.js';
import type { BenchEnv } from './env.js';
import { type CpuSnapshot, cpuSince, cpuSnapshot } from './proc-cpu.js';
import { createRunTracker } from './run-tracker.js';
import { clearRuns } from './workload.js';

/** What one phase (the idle runs, or the load) cost, in total over its runs. */
export interface ProcessesPhase {
  runs: number;
  wallMs: number;
  cpu: {
    /** executeTask containers: while an invocation was in flight (the handler), and the whole processes. */
    consumerInvocationsMs: number;
    consumerProcessesMs: number;
    /** The runPlaybook container: while an invocation was in flight, and the whole process. */
    startInvocationsMs: number;
    startProcessMs: number;
    /** This process: event source, stub, tracker, workers, IPC. */
    harnessMs: number;
    /** Each local server (mongo, sqs, redis, dynamodb). */
    servers: Record<string, number>;
    /** Every process on the machine (other users' included). */
    machineBusyMs: number | null;
    machineBusy: number | null;
  };
  /** The product's round trips: executeTask containers + runPlaybook container. */
  product: RoundTrips;
  consumer: RoundTrips;
  start: RoundTrips;
  /** The harness's own calls: the tracker's MongoDB commands, the event source's receives and deletes. */
  trackerMongo: number;
  eventSourceSqs: number;
  /** executeTask invocations, and the messages they were handed. */
  invocations: number;
  records: number;
  /** Wall time of the executeTask invocations, summed. */
  consumerInvocationWallMs: number;
  /** Extra deliveries of a task attempt (fairness's copies, redeliveries). */
  deferred: number;
  /** Invocations x the runs each one had messages of, summed: how many invocations a run's tasks reached. */
  runSlices: number;
}

export interface ProcessesResult {
  containers: number;
  shape: ConsumerShape;
  load: Driven & ProcessesPhase & { stubCalls: number };
  idle: IdleRuns & ProcessesPhase;
}

interface Snapshot {
  cpu: CpuSnapshot;
  consumers: ContainerStats[];
  start: ContainerStats[];
  trackerMongo: number;
  eventSourceSqs: number;
  deferred: number;
  runSlices: number;
}

const sum = (xs: ContainerStats[], f: (s: ContainerStats) => number) => xs.reduce((a, s) => a + f(s), 0);

function between(a: Snapshot, b: Snapshot, runs: number): ProcessesPhase {
  const cpu = cpuSince(a.cpu, b.cpu);
  const delta = (xs: ContainerStats[], ys: ContainerStats[], f: (s: ContainerStats) => number) =>
    sum(ys, f) - sum(xs, f);
  const trips = (xs: ContainerStats[], ys: ContainerStats[]) =>
    sumTrips(ys.map((y, i) => tripsBetween((xs[i] as ContainerStats).trips, y.trips)));
  const consumer = trips(a.consumers, b.consumers);
  const start = trips(a.start, b.start);
  return {
    runs,
    wallMs: cpu.wallMs,
    cpu: {
      consumerInvocationsMs: delta(a.consumers, b.consumers, (s) => s.invocationCpuMs),
      consumerProcessesMs: delta(a.consumers, b.consumers, (s) => s.cpuMs),
      startInvocationsMs: delta(a.start, b.start, (s) => s.invocationCpuMs),
      startProcessMs: delta(a.start, b.start, (s) => s.cpuMs),
      harnessMs: cpu.nodeMs,
      servers: cpu.servers,
      machineBusyMs: cpu.machineBusyMs,
      machineBusy: cpu.machineBusy,
    },
    product: sumTrips([consumer, start]),
    consumer,
    start,
    trackerMongo: b.trackerMongo - a.trackerMongo,
    eventSourceSqs: b.eventSourceSqs - a.eventSourceSqs,
    invocations: delta(a.consumers, b.consumers, (s) => s.invocations),
    records: delta(a.consumers, b.consumers, (s) => s.records),
    consumerInvocationWallMs: delta(a.consumers, b.consumers, (s) => s.invocationWallMs),
    deferred: b.deferred - a.deferred,
    runSlices: b.runSlices - a.runSlices,
  };
}

/** Runs the idle runs and the load of the case with the functions as container processes. */
export async function runWithContainers(o: {
  env: BenchEnv;
  benchDir: string;
  stub: Stub;
  /** The bench's observer database (to clear runs between phases). */
  db: Db;
  shape: ConsumerShape;
  total: number;
  idleCount: number;
  log: (m: string) => void;
}): Promise<ProcessesResult> {
  const trackerClient = createMongoClient(getConfig('mongo'));
  const trackerCommands = countMongoCommands(trackerClient);
  const tracker = createRunTracker(trackerClient.db(o.env.dbName), 5);
  const pools: ContainerPool[] = [];
  const redeliveries = redeliveryCounter();
  let consumers: ContainerPool | undefined;
  const consumer = createConsumer(o.env, (event: SQSEvent) => {
    redeliveries.observe(event.Records);
    return (consumers as ContainerPool).invoke(event);
  });
  const eventSourceSqs = countAwsRequests(consumer.client, 'benchEventSource');
  try {
    const t0 = Date.now();
    consumers = await startContainers(o.env, o.benchDir, EXECUTE_TASK, o.shape.maxConcurrency);
    pools.push(consumers);
    // One runPlaybook process takes every start (IN_FLIGHT at once): see the METHOD.
    const starter = await startContainers(o.env, o.benchDir, RUN_PLAYBOOK, 1, IN_FLIGHT);
    pools.push(starter);
    o.log(`e2e-throughput: ${o.shape.maxConcurrency + 1} containers ready in ${Date.now() - t0} ms`);
    const poller = await consumer.start(o.shape);
    const invoke: StartInvoker = (event) => starter.invoke(event);
    const settled = async () => {
      // The last invocation's deletes (the event source's) and close-out, before reading counters.
      for (let i = 0; i < 400 && poller.stats.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20));
    };
    const snapshot = async (): Promise<Snapshot> => {
      await settled();
      const [c, s] = await Promise.all([(consumers as ContainerPool).stats(), starter.stats()]);
      const mongo = [...trackerCommands().values()].reduce((a, b) => a + b, 0);
      return {
        cpu: cpuSnapshot(),
        consumers: c,
        start: s,
        trackerMongo: mongo,
        eventSourceSqs: eventSourceSqs(),
        deferred: redeliveries.count,
        runSlices: redeliveries.runSlices,
      };
    };

    // Warm-up: every container connects on its first invocations.
    await driveRuns(Math.max(20, o.total / 5), tracker, invoke);
    await clearRuns(o.db);
    await idleRuns(3, tracker, invoke, o.stub);

    const i0 = await snapshot();
    const idle = await idleRuns(o.idleCount, tracker, invoke, o.stub);
    const i1 = await snapshot();
    await clearRuns(o.db);

    o.stub.reset();
    redeliveries.reset();
    const l0 = await snapshot();
    const driven = await driveRuns(o.total, tracker, invoke);
    const l1 = await snapshot();
    const stubCalls = o.stub.calls.length;
    await clearRuns(o.db);
    return {
      containers: o.shape.maxConcurrency,
      shape: o.shape,
      idle: { ...idle, ...between(i0, i1, o.idleCount) },
      load: { ...driven, ...between(l0, l1, o.total), stubCalls },
    };
  } finally {
    await consumer.close();
    await Promise.all(pools.map((p) => p.stop()));
    tracker.close();
    await trackerClient.close();
    await clearRuns(o.db);
  }
}
