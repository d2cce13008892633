/**
 * Every environment variable the service reads, validated once per container.
 * Each section is parsed on first use and memoized, so a function only needs the
 * variables of the sections it touches (the authorizer needs no database URI).
 * A missing or malformed variable fails the cold start with the variable's name.
 */
import * as z from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const intVar = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

const listVar = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s.length > 0),
  );

const optionalUrl = z.url().optional();

/** The HS256 secret the local stage uses by default: public (it is in this repository). */
export const PUBLIC_LOCAL_JWT_SECRET = 'local-dev-secret';

/** True when STAGE names a deployed stage (anything but `local`). */
const deployedStage = (stage: string | undefined) => stage !== undefined && stage !== 'local';

/** A JSON object of tenant code -> positive integer, as a Map (no prototype keys); empty when unset. */
const tenantCaps = z
  .string()
  .default('{}')
  .transform((v, ctx) => {
    if (v.trim() === '') return {};
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of tenant code -> cap, e.g. {"t1":10}' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string().min(1).max(128), z.number().int().min(1).max(100_000)))
  .transform((caps) => new Map(Object.entries(caps)));

const schemas = {
  service: z
    .object({
      STAGE: z.string().regex(/^[a-z0-9-]{1,32}$/),
      AWS_REGION: z.string().min(1),
      /** Set by the AWS Lambda runtime itself (not by serverless-offline or `invoke local`). */
      AWS_LAMBDA_RUNTIME_API: z.string().optional(),
    })
    .superRefine((v, ctx) => {
      // The local stage trusts a public signing secret and private targets: never in AWS.
      if (v.STAGE === 'local' && v.AWS_LAMBDA_RUNTIME_API !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['STAGE'], message: 'the local stage cannot run in AWS Lambda' });
      }
    }),
  mongo: z.object({
    MONGO_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI'),
    MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/),
    // The original Go service's pool settings, sized for a Lambda container (one invocation at a time).
    MONGO_MAX_POOL_SIZE: intVar(10, 1, 500),
    MONGO_MIN_POOL_SIZE: intVar(0, 0, 100),
    MONGO_MAX_IDLE_TIME_MS: intVar(30 * 60_000, 0, 24 * 3_600_000),
    MONGO_CONNECT_TIMEOUT_MS: intVar(10_000, 100, 120_000),
    MONGO_SOCKET_TIMEOUT_MS: intVar(30_000, 0, 600_000),
    MONGO_SERVER_SELECTION_TIMEOUT_MS: intVar(5_000, 100, 120_000),
    MONGO_HEARTBEAT_FREQUENCY_MS: intVar(10_000, 500, 600_000),
    /** A server check unanswered this long means the driver's monitor is stuck (lib/clients/mongo-watchdog.ts). */
    MONGO_MONITOR_STALL_MS: z.coerce.number().int().min(0).max(600_000).optional(),
    /** `auto`: close a run's last tasks and complete it in one pipeline update where the server takes it. */
    MONGO_UPDATE_PIPELINES: z.enum(['auto', 'off']).default('auto'),
  }),
  redis: z
    .object({
      REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
      REDIS_CONNECT_TIMEOUT_MS: intVar(5_000, 50, 60_000),
      // A cache must fail fast: a slow Redis only makes requests slower, never stuck.
      REDIS_COMMAND_TIMEOUT_MS: intVar(500, 10, 60_000),
      REDIS_MAX_RETRIES_PER_REQUEST: intVar(1, 0, 10),
      STAGE: z.string().optional(),
      /** Tests of deployed-stage behaviour against the local Redis only; never set by serverless.yml. */
      REDIS_ALLOW_PLAINTEXT: z.enum(['true', 'false']).optional(),
    })
    .superRefine((v, ctx) => {
      // Deployed stages talk to Redis over TLS: tenants' cached playbooks and fairness slots.
      if (deployedStage(v.STAGE) && !v.REDIS_URL.startsWith('rediss://') && v.REDIS_ALLOW_PLAINTEXT !== 'true') {
        ctx.addIssue({
          code: 'custom',
          path: ['REDIS_URL'],
          message: 'must be a rediss:// (TLS) URL outside the local stage',
        });
      }
    }),
  queue: z.object({
    SQS_ENDPOINT: optionalUrl,
    TASK_QUEUE_URL: z.url(),
  }),
  idempotency: z.object({
    DYNAMODB_ENDPOINT: optionalUrl,
    IDEMPOTENCY_TABLE: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/),
    IDEMPOTENCY_TTL_SECONDS: intVar(24 * 3600, 60, 30 * 24 * 3600),
  }),
  auth: z
    .object({
      AUTH_JWT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
      AUTH_JWKS_URL: optionalUrl,
      AUTH_ISSUER: z.string().min(1).optional(),
      AUTH_AUDIENCE: z.string().min(1).optional(),
      STAGE: z.string().optional(),
    })
    .superRefine((v, ctx) => {
      if (deployedStage(v.STAGE) && v.AUTH_JWT_SECRET === PUBLIC_LOCAL_JWT_SECRET) {
        ctx.addIssue({
          code: 'custom',
          path: ['AUTH_JWT_SECRET'],
          message: 'is the public local secret: anyone could sign tokens (use AUTH_JWKS_URL)',
        });
      }
      if (v.AUTH_JWT_SECRET === undefined && v.AUTH_JWKS_URL === undefined) {
        ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_SECRET'], message: 'set AUTH_JWT_SECRET or AUTH_JWKS_URL' });
      }
      if (v.AUTH_JWKS_URL !== undefined && (v.AUTH_ISSUER === undefined || v.AUTH_AUDIENCE === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['AUTH_ISSUER'],
          message: 'AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE',
        });
      }
    }),
  reaper: z.object({
    /** A run without progress this long is examined; above SQS's 900 s maximum delay. */
    REAP_STALE_AFTER_MS: intVar(20 * 60_000, 1_000, 24 * 3_600_000),
    /** Runs older than this are failed with RUN_TIMEOUT. */
    RUN_MAX_AGE_MS: intVar(24 * 3_600_000, 60_000, 30 * 24 * 3_600_000),
    REAP_BATCH_LIMIT: intVar(100, 1, 10_000),
  }),
  engine: z.object({
    TASK_OUTPUT_MAX_BYTES: intVar(64 * 1024, 1024, 200 * 1024),
    HTTP_MAX_SOCKETS: intVar(50, 1, 1000),
    HTTP_RESPONSE_MAX_BYTES: intVar(1024 * 1024, 1024, 6 * 1024 * 1024),
    INTEGRATION_ALLOWED_HOSTS: listVar,
    /** How deep sub-playbooks may nest (a top-level run is depth 0). */
    SUBPLAYBOOK_MAX_DEPTH: intVar(5, 1, 20),
    /**
     * Units of work (tasks, loop items, sub-playbook runs) a run and its sub-playbook runs create
     * together (lib/engine/work-budget.ts); at least a playbook's own 200 tasks.
     */
    RUN_WORK_BUDGET: intVar(5_000, 200, 100_000),
    /** Added to a claimed task's lease beyond the function's own deadline. */
    TASK_LEASE_MARGIN_MS: intVar(30_000, 0, 900_000),
    /** A batch commits the results that finish within this window of the first (lib/engine/batch/commit.ts)... */
    TASK_COMMIT_WINDOW_MS: intVar(5, 0, 1_000),
    /** ...or as soon as this many have finished, whichever comes first. */
    TASK_COMMIT_MAX_RESULTS: intVar(10, 1, 1_000),
  }),
  /** The two-level playbook definition cache (docs/cache.md explains each bound). */
  cache: z.object({
    PLAYBOOK_CACHE_L1_MAX_ENTRIES: intVar(500, 1, 100_000),
    // Definitions reach 256 KiB: bound L1 by bytes too, well inside a 512 MB function.
    PLAYBOOK_CACHE_L1_MAX_BYTES: intVar(32 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    PLAYBOOK_CACHE_L1_TTL_MS: intVar(5 * 60_000, 1_000, 24 * 3_600_000),
    /** How long an L1 entry is served without checking the version pointer: the cross-container staleness bound. */
    PLAYBOOK_CACHE_TRUST_MS: intVar(1_000, 0, 60_000),
    PLAYBOOK_CACHE_L2_TTL_SECONDS: intVar(3_600, 1, 7 * 24 * 3_600),
    /** Lifetime of a version pointer: the staleness bound when Redis missed an invalidation. */
    PLAYBOOK_CACHE_POINTER_TTL_SECONDS: intVar(60, 1, 24 * 3_600),
  }),
  /** The scheduled top-playbooks computation and its read API. */
  analytics: z.object({
    ANALYTICS_WINDOW_DAYS: intVar(30, 1, 366),
    /** The schedule's period (serverless.yml uses the same value); Redis copies live 3 periods. */
    TOP_PLAYBOOKS_RATE_MINUTES: intVar(5, 1, 24 * 60),
  }),
  /** Per-tenant fairness of executeTask (lib/engine/fairness.ts): a cap on a tenant's running tasks. */
  fairness: z.object({
    TENANT_MAX_RUNNING_TASKS: intVar(50, 1, 100_000),
    /** A JSON object of tenant code -> cap, e.g. {"big-customer":200,"noisy-lab":5}. */
    TENANT_MAX_RUNNING_OVERRIDES: tenantCaps,
    /**
     * Shortest SQS delay of the durable copy of a task deferred over its tenant's cap (the task
     * is parked in Redis too, and promoted as slots free); it grows with the tenant's backlog.
     * Long enough that a promoted task has usually run before its copy comes back.
     */
    FAIRNESS_DEFER_SECONDS: intVar(10, 1, 300),
    /** Longest such delay (a backlog > cap x this brings copies back this long after). */
    FAIRNESS_MAX_DEFER_SECONDS: intVar(60, 1, 900),
  }),
  /** The audit log (docs/audit.md). */
  audit: z.object({
    /** How long entries are kept: the TTL of audit_log (npm run db:migrate applies a change). */
    AUDIT_RETENTION_DAYS: intVar(365, 1, 3_650),
    /**
     * An entry pending on its document for longer than this was left by a writer that died:
     * GET /audit and the sweep copy it. Above every audited function's timeout (28 s).
     */
    AUDIT_OUTBOX_GRACE_MS: intVar(60_000, 1_000, 3_600_000),
    /** Documents with pending entries the sweep settles per collection and run. */
    AUDIT_SWEEP_LIMIT: intVar(500, 1, 10_000),
  }),
  /** Integration secrets in SSM Parameter Store (lib/adapters/secrets/ssm-secrets.ts). */
  secrets: z.object({
    /** Local stage: an SSM-compatible emulator. */
    SSM_ENDPOINT: optionalUrl,
    /** Default `/playbook-service/${STAGE}/secrets/`; a secret is `${prefix}${tenant_code}/${NAME}`. */
    SECRETS_SSM_PREFIX: z
      .string()
      .regex(/^\/([A-Za-z0-9_.-]+\/)*$/, 'must be an SSM path ending with /')
      .max(900)
      .optional(),
    /** How long a resolved secret is cached in a container. */
    SECRETS_CACHE_MAX_AGE_SECONDS: intVar(300, 0, 24 * 3_600),
  }),
  /** Webhook deliveries (POST /hooks/{hook_id}) and the key their secrets derive from. */
  webhooks: z
    .object({
      /** The key itself: the local stage and tests only (it wins over the parameter name when both are set). */
      WEBHOOK_SIGNING_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
      /** Deployed stages: the SSM SecureString holding the key, read at run time. */
      WEBHOOK_SIGNING_KEY_PARAMETER: z
        .string()
        .regex(/^\/[A-Za-z0-9_./-]{1,1000}$/, 'must be an SSM parameter name starting with /')
        .optional(),
      WEBHOOK_KEY_CACHE_SECONDS: intVar(300, 0, 24 * 3_600),
      /** Each hook's budget: a burst of this many deliveries, then this many per minute. */
      WEBHOOK_RATE_LIMIT_PER_MINUTE: intVar(60, 1, 100_000),
    })
    .superRefine((v, ctx) => {
      if (v.WEBHOOK_SIGNING_KEY === undefined && v.WEBHOOK_SIGNING_KEY_PARAMETER === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['WEBHOOK_SIGNING_KEY_PARAMETER'],
          message: 'set WEBHOOK_SIGNING_KEY_PARAMETER (or WEBHOOK_SIGNING_KEY locally)',
        });
      }
    }),
  /** runSchedules (lib/engine/run-schedules.ts). */
  schedules: z.object({
    /** Due schedules read per page. */
    SCHEDULES_PAGE_SIZE: intVar(100, 1, 1_000),
    /** Due schedules handled at once. */
    SCHEDULES_CONCURRENCY: intVar(10, 1, 100),
  }),
  /** Durable timers: approval timeouts and long delays (docs/durable-waits.md). */
  timers: z.object({
    /** Timers fireTimers reads (and sends) per page. */
    TIMER_PAGE_SIZE: intVar(100, 1, 1_000),
    /** How long after its due time an armed timer's message may take to act before it is sent again. */
    TIMER_REARM_GRACE_MS: intVar(5 * 60_000, 10_000, 3_600_000),
    /** The longest wait between two sends of one timer (the grace doubles per send up to this). */
    TIMER_MAX_BACKOFF_MS: intVar(3_600_000, 60_000, 24 * 3_600_000),
    /** Sends of one timer at most; then it is abandoned (an error log and the TimersAbandoned metric). */
    TIMER_MAX_SENDS: intVar(6, 1, 100),
  }),
  /** Approval tasks (docs/approvals.md). */
  approvals: z.object({
    /** The service's public URL, so a notify's `approval.callback_url` is absolute; a path otherwise. */
    PUBLIC_BASE_URL: optionalUrl,
  }),
} as const;

type Sections = typeof schemas;
export type SectionName = keyof Sections;
export type Config<S extends SectionName> = z.output<Sections[S]>;

const memo = new Map<SectionName, unknown>();

/** Parses one section from an env object; throws ConfigError naming each bad variable. */
export function parseConfigSection<S extends SectionName>(name: S, env: Env): Config<S> {
  const result = schemas[name].safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || name}: ${i.message}`);
    throw new ConfigError(`invalid configuration (${name}): ${problems.join('; ')}`);
  }
  return result.data as Config<S>;
}

/** The validated section, parsed from process.env on first use in this container. */
export function getConfig<S extends SectionName>(name: S): Config<S> {
  const cached = memo.get(name);
  if (cached !== undefined) return cached as Config<S>;
  const parsed = parseConfigSection(name, process.env);
  memo.set(name, parsed);
  return parsed;
}

/** The index settings that come from the configuration (lib/adapters/mongo/collections.ts). */
export function indexSettings(audit: Config<'audit'>): { auditRetentionSeconds: number } {
  return { auditRetentionSeconds: audit.AUDIT_RETENTION_DAYS * 86_400 };
}

/** True on the developer's machine (stage `local`), where private integration targets are allowed. */
export function isLocalStage(): boolean {
  return getConfig('service').STAGE === 'local';
}
