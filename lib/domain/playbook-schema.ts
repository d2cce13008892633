/**
 * The playbook definition (see the contract's "Playbooks" section, plus `for_each`
 * loops). Every object is strict: an unknown field, such as a typo `depend_on`, is an
 * error rather than something silently ignored that changes what runs.
 */
import * as z from 'zod';
import { findJsonProblems, type JsonValue } from './json-value.js';

export const MAX_TASKS = 200;
export const MAX_TIMEOUT_MS = 900_000;
/** A `delay` waits at most 30 days (longer than SQS's 900 s: durable timers, docs/durable-waits.md). */
export const MAX_DELAY_SECONDS = 2_592_000;
export const MAX_RUN_IF_LENGTH = 4096;
export const MAX_TRANSFORM_LENGTH = 16_384;
/** An approval's question and its answers (the contract: 1-10 choices, a timeout of 60 s to 30 days). */
export const MAX_PROMPT_LENGTH = 4_000;
export const MAX_CHOICES = 10;
export const MAX_CHOICE_LENGTH = 64;
export const MAX_APPROVERS = 100;
export const DEFAULT_CHOICES = ['approve', 'reject'] as const;
export const MIN_APPROVAL_TIMEOUT_SECONDS = 60;
export const MAX_APPROVAL_TIMEOUT_SECONDS = 2_592_000;
/** Items one `for_each` task may fan out to. */
export const MAX_FOR_EACH_ITEMS = 1000;
/** A containment's undo runs by itself this long after its task succeeded: one minute to one year. */
export const MIN_UNDO_AFTER_SECONDS = 60;
export const MAX_UNDO_AFTER_SECONDS = 31_536_000;

export const TASK_TYPES = ['http', 'transform', 'noop', 'delay', 'playbook', 'approval'] as const;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

/** Ids that would clash with Object.prototype when used as keys. */
export const RESERVED_TASK_IDS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export const DEFAULT_RETRY = { max_attempts: 1, backoff_ms: 1000, max_backoff_ms: 60_000 } as const;

const retrySchema = z.strictObject({
  max_attempts: z.int().min(1).max(10).default(DEFAULT_RETRY.max_attempts),
  backoff_ms: z.int().min(0).max(MAX_TIMEOUT_MS).default(DEFAULT_RETRY.backoff_ms),
  max_backoff_ms: z.int().min(0).max(MAX_TIMEOUT_MS).default(DEFAULT_RETRY.max_backoff_ms),
});

// Any JSON value, checked by an iterative, depth-limited walk: zod's recursive z.json()
// would overflow the stack on a body nested a hundred thousand levels deep.
const jsonBodySchema = z.custom<JsonValue>().superRefine((value, ctx) => {
  for (const problem of findJsonProblems(value)) {
    ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  }
});

const httpConfigSchema = z.strictObject({
  method: z.enum(HTTP_METHODS),
  url: z.string().min(1).max(2048),
  headers: z.record(z.string().max(256), z.string().max(8192)).optional(),
  body: jsonBodySchema.optional(),
});

const transformConfigSchema = z.strictObject({
  expression: z.string().min(1).max(MAX_TRANSFORM_LENGTH),
});

/** `{ seconds }`, or `{ until }`: a template yielding an ISO-8601 time or epoch ms (lib/domain/delay.ts). */
const delayConfigSchema = z
  .strictObject({
    seconds: z.int().min(0).max(MAX_DELAY_SECONDS).optional(),
    until: z.string().min(1).max(MAX_RUN_IF_LENGTH).optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.seconds === undefined) === (c.until === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['seconds'], message: 'give exactly one of seconds and until' });
    }
  });

const noopConfigSchema = z.strictObject({});

/** A sub-playbook: another playbook of the same tenant, started with a templated alert. */
const playbookConfigSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must match [a-z0-9-]{1,64}'),
  alert_id: z.string().min(1).max(256).optional(),
  alert: jsonBodySchema.optional(),
});

/**
 * A question to a person (lib/domain/approval.ts): the task waits, holding no worker, until an
 * analyst, a callback or its timeout answers. `on_timeout` and the unique choices are checked in
 * playbook-validation.ts, with the templates of `prompt` and `notify`.
 */
const approvalConfigSchema = z.strictObject({
  prompt: z.string().min(1).max(MAX_PROMPT_LENGTH),
  choices: z
    .array(z.string().min(1).max(MAX_CHOICE_LENGTH))
    .min(1)
    .max(MAX_CHOICES)
    .default(() => [...DEFAULT_CHOICES]),
  approvers: z.array(z.string().min(1).max(256)).min(1).max(MAX_APPROVERS).optional(),
  timeout_seconds: z.int().min(MIN_APPROVAL_TIMEOUT_SECONDS).max(MAX_APPROVAL_TIMEOUT_SECONDS).default(86_400),
  on_timeout: z.string().min(1).max(MAX_CHOICE_LENGTH).default('fail'),
  notify: httpConfigSchema.optional(),
});

// Fields every task type shares; spread into each variant so each stays a strict object.
const taskBaseShape = {
  id: z
    .string()
    .regex(/^[a-z0-9_]{1,64}$/, 'must match [a-z0-9_]{1,64}')
    // Ids become object keys in the template context and in stored documents.
    .refine((id) => !RESERVED_TASK_IDS.has(id), 'is a reserved name'),
  depends_on: z
    .array(z.string().max(64))
    .max(MAX_TASKS)
    .default(() => []),
  run_if: z.string().min(1).max(MAX_RUN_IF_LENGTH).optional(),
  join: z.enum(['all', 'any']).default('all'),
  retry: retrySchema.default(() => ({ ...DEFAULT_RETRY })),
  timeout_ms: z.int().min(1).max(MAX_TIMEOUT_MS).default(30_000),
  on_failure: z.enum(['fail', 'continue']).default('fail'),
  /** JSONata yielding a list: the task runs once per item, with `item` and `index` in its templates. */
  for_each: z.string().min(1).max(MAX_RUN_IF_LENGTH).optional(),
  /** At most this many items of a `for_each` task in flight at once. */
  concurrency: z.int().min(1).max(MAX_FOR_EACH_ITEMS).optional(),
};

const httpTaskSchema = z.strictObject({
  ...taskBaseShape,
  type: z.literal('http'),
  config: httpConfigSchema,
  /**
   * How to reverse the call (docs/containment.md): an http request, run once per success by a
   * rollback of the run or when `undo_after_seconds` have passed (checked in playbook-validation.ts).
   */
  undo: httpConfigSchema.optional(),
  undo_after_seconds: z.int().min(MIN_UNDO_AFTER_SECONDS).max(MAX_UNDO_AFTER_SECONDS).optional(),
});
const transformTaskSchema = z.strictObject({
  ...taskBaseShape,
  type: z.literal('transform'),
  config: transformConfigSchema,
});
const noopTaskSchema = z.strictObject({
  ...taskBaseShape,
  type: z.literal('noop'),
  config: noopConfigSchema.optional(),
});
const delayTaskSchema = z.strictObject({ ...taskBaseShape, type: z.literal('delay'), config: delayConfigSchema });
const playbookTaskSchema = z.strictObject({
  ...taskBaseShape,
  type: z.literal('playbook'),
  config: playbookConfigSchema,
});

const approvalTaskSchema = z.strictObject({
  ...taskBaseShape,
  type: z.literal('approval'),
  config: approvalConfigSchema,
});

export const taskSchema = z.discriminatedUnion('type', [
  httpTaskSchema,
  transformTaskSchema,
  noopTaskSchema,
  delayTaskSchema,
  playbookTaskSchema,
  approvalTaskSchema,
]);

export const playbookSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must match [a-z0-9-]{1,64}'),
  description: z.string().max(2000).optional(),
  category_id: z.string().min(1).max(64).optional(),
  status: z.enum(['active', 'inactive']).default('active'),
  tasks: z
    .array(taskSchema)
    .min(1, 'a playbook needs at least one task')
    .max(MAX_TASKS, `a playbook has at most ${MAX_TASKS} tasks`),
});

/** A playbook definition after parsing, with every default applied. */
export type PlaybookInput = z.output<typeof playbookSchema>;
/** A playbook definition as a client may send it (defaults still optional). */
export type PlaybookDraft = z.input<typeof playbookSchema>;
export type TaskDefinition = z.output<typeof taskSchema>;
export type TaskType = TaskDefinition['type'];
export type HttpMethod = (typeof HTTP_METHODS)[number];
export type HttpConfig = z.output<typeof httpConfigSchema>;
export type HttpTaskDefinition = z.output<typeof httpTaskSchema>;

/** A task's undo and its expiry (only http tasks declare one), or undefined. */
export function undoOf(def: TaskDefinition): { undo: HttpConfig; undo_after_seconds?: number } | undefined {
  if (def.type !== 'http' || def.undo === undefined) return undefined;
  return def.undo_after_seconds === undefined
    ? { undo: def.undo }
    : { undo: def.undo, undo_after_seconds: def.undo_after_seconds };
}
export type TransformConfig = z.output<typeof transformConfigSchema>;
export type DelayConfig = z.output<typeof delayConfigSchema>;
export type PlaybookTaskConfig = z.output<typeof playbookConfigSchema>;
export type ApprovalConfig = z.output<typeof approvalConfigSchema>;
export type RetryPolicy = z.output<typeof retrySchema>;
export type JoinMode = TaskDefinition['join'];
export type OnFailure = TaskDefinition['on_failure'];
export type PlaybookStatus = PlaybookInput['status'];
