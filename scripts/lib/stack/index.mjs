// Local stack of real servers for development, tests and CI (no Docker needed):
//   mongo    mongo-java-server 1.47.0 (in-memory), via tools/emulators MongoLauncher
//   sqs      ElasticMQ 1.7.1, queues from tools/emulators/elasticmq.conf
//   redis    Debian's redis-server, no persistence
//   dynamodb dynalite 4.0.0 (npm devDependency), in-memory
//
// Programmatic API (this index; used by `node scripts/stack.mjs`, vitest globalSetup, `npm start`, .ci/run):
//   stackEndpoints() -> endpoints honouring MONGO_URI / REDIS_URL / SQS_ENDPOINT / DYNAMODB_ENDPOINT
//   stackUp({ quiet }) -> idempotent start + health wait, returns { endpoints, started, running, external }
//   stackDown({ quiet }) -> stops only the processes this stack started
//   stackStatus() -> one entry per server
//
// State lives in .stack/ (pids/NAME.json, logs/NAME.log, lock) and the downloaded jars plus the
// compiled launcher in .cache/emulators/ (both git-ignored). Processes are spawned detached so they
// outlive the calling process; stop them with stackDown().
//
// Environment:
//   MONGO_PORT (27117) SQS_PORT (9324) REDIS_PORT (6479) DYNAMODB_PORT (8001)
//   MONGO_URI REDIS_URL SQS_ENDPOINT DYNAMODB_ENDPOINT   use that service instead; not started here
//   TASK_QUEUE_URL DLQ_URL IDEMPOTENCY_TABLE AWS_REGION  override the derived names
//   STACK_START_TIMEOUT_MS                               health-wait limit for the JVMs (60000)
//
// Modules: config (paths, names, StackError), endpoints, proc (process/file helpers), lock,
// emulators (jars, launcher), servers (definitions), probes (readiness), server-process (start/stop
// one server), control (up/down/status).

export { ROOT, StackError } from './config.mjs';
export { formatStatus, redact, stackDown, stackStatus, stackUp } from './control.mjs';
export { stackEndpoints } from './endpoints.mjs';
export { ensureIdempotencyTable } from './probes.mjs';
export { logFile } from './proc.mjs';
