/**
 * Every environment variable the service reads, validated once per container.
 * Each section is parsed on first use and memoized, so a function only needs the
 * variables of the sections it touches (the authorizer needs no database URI).
 * A missing or malformed variable fails the cold start with the variable's name.
 */
import { z } from 'zod';

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

const schemas = {
  service: z.object({
    STAGE: z.string().regex(/^[a-z0-9-]{1,32}$/),
    AWS_REGION: z.string().min(1),
  }),
  mongo: z.object({
    MONGO_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URI'),
    MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/),
    // The seed's pool settings, sized for a Lambda container (one invocation at a time).
    MONGO_MAX_POOL_SIZE: intVar(10, 1, 500),
    MONGO_MIN_POOL_SIZE: intVar(0, 0, 100),
    MONGO_MAX_IDLE_TIME_MS: intVar(30 * 60_000, 0, 24 * 3_600_000),
    MONGO_CONNECT_TIMEOUT_MS: intVar(10_000, 100, 120_000),
    MONGO_SOCKET_TIMEOUT_MS: intVar(30_000, 0, 600_000),
    MONGO_SERVER_SELECTION_TIMEOUT_MS: intVar(5_000, 100, 120_000),
    MONGO_HEARTBEAT_FREQUENCY_MS: intVar(10_000, 500, 600_000),
  }),
  redis: z.object({
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
    REDIS_CONNECT_TIMEOUT_MS: intVar(5_000, 50, 60_000),
    // A cache must fail fast: a slow Redis only makes requests slower, never stuck.
    REDIS_COMMAND_TIMEOUT_MS: intVar(500, 10, 60_000),
    REDIS_MAX_RETRIES_PER_REQUEST: intVar(1, 0, 10),
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
    })
    .superRefine((v, ctx) => {
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
  engine: z.object({
    TASK_OUTPUT_MAX_BYTES: intVar(64 * 1024, 1024, 200 * 1024),
    HTTP_MAX_SOCKETS: intVar(50, 1, 1000),
    HTTP_RESPONSE_MAX_BYTES: intVar(1024 * 1024, 1024, 6 * 1024 * 1024),
    INTEGRATION_ALLOWED_HOSTS: listVar,
    /** Added to a claimed task's lease beyond the function's own deadline. */
    TASK_LEASE_MARGIN_MS: intVar(30_000, 0, 900_000),
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

/** True on the developer's machine (stage `local`), where private integration targets are allowed. */
export function isLocalStage(): boolean {
  return getConfig('service').STAGE === 'local';
}
