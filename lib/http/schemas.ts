/** Request schemas of the HTTP routes, compiled once at module scope. */
import * as z from 'zod';
import { AUDIT_ACTIONS } from '../domain/audit.js';
import { MAX_INPUT_JSON_DEPTH, tooDeepAt } from '../domain/json-value.js';
import { MAX_TASKS } from '../domain/playbook-schema.js';
import { EXECUTION_STATUSES } from '../domain/statuses.js';
import { RUN_MODES, TRIGGER_TYPES } from '../domain/triggers.js';

const name = z.string().regex(/^[a-z0-9-]{1,64}$/, 'must match [a-z0-9-]{1,64}');

export const playbookNameParam = z.object({ name }).strict();

/** Run ids are UUIDs; anything else cannot exist. */
export const peidParam = z.object({ peid: z.uuid('must be a UUID') }).strict();

const taskId = z.string().regex(/^[a-z0-9_]{1,64}$/, 'must be a task id ([a-z0-9_]{1,64})');

/** A test run's stand-in for one task: the output it finishes with, or the error it fails with. */
const mock = z.union([
  z.strictObject({ output: z.json() }),
  z.strictObject({ error: z.strictObject({ code: z.string().min(1).max(64), message: z.string().max(1000) }) }),
]);

export const runPlaybookBody = z
  .object({
    playbook_name: name,
    alert_id: z.string().min(1).max(256),
    // Any JSON object, nested at most MAX_INPUT_JSON_DEPTH levels (checked iteratively: the run
    // stores it as JSON text and templates walk it, both recursive).
    alert: z
      .record(z.string(), z.unknown())
      .default({})
      .refine((alert) => tooDeepAt(alert, MAX_INPUT_JSON_DEPTH) === undefined, {
        message: `must not be nested deeper than ${MAX_INPUT_JSON_DEPTH} levels`,
      }),
    // Default live (applied when the run starts: an Idempotency-Key's payload stays what v1 clients send).
    mode: z.enum(RUN_MODES).optional(),
    /** Task id -> mock; only with mode "test" (checked against the playbook's tasks when the run starts). */
    mocks: z
      .record(taskId, mock)
      .refine((m) => Object.keys(m).length <= MAX_TASKS, `at most ${MAX_TASKS} mocks`)
      .optional(),
  })
  .strict();

/** Epoch milliseconds as a query value: digits only. */
const epochMs = z
  .string()
  .regex(/^\d{1,15}$/, 'must be epoch milliseconds (digits)')
  .transform(Number);

/** The search fields of GET /executions: at most one per query (each has its own index, status folded in). */
export const EXECUTION_SEARCH_FIELDS = ['playbook_name', 'alert_id', 'trigger', 'mode'] as const;

export const executionListQuery = z
  .object({
    status: z.enum(EXECUTION_STATUSES as [string, ...string[]]).optional(),
    playbook_name: name.optional(),
    alert_id: z.string().min(1).max(256).optional(),
    trigger: z.enum(TRIGGER_TYPES).optional(),
    mode: z.enum(RUN_MODES).optional(),
    since: epochMs.optional(),
    until: epochMs.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    before: z.string().min(1).max(256).optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    const given = EXECUTION_SEARCH_FIELDS.filter((f) => q[f] !== undefined);
    for (const extra of given.slice(1)) {
      ctx.addIssue({
        code: 'custom',
        path: [extra],
        message: `combine at most one of ${EXECUTION_SEARCH_FIELDS.join(', ')} (each with status, since and until); '${given[0]}' is given`,
      });
    }
    if (q.since !== undefined && q.until !== undefined && q.until <= q.since) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be after since' });
    }
  });

/** The Idempotency-Key header: printable, bounded. */
export const idempotencyKeyHeader = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable ASCII characters');

export const playbookListQuery = z
  .object({
    status: z.enum(['active', 'inactive']).optional(),
    category_id: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(100),
    /** The previous page's `next`: names strictly after it. */
    after: name.optional(),
  })
  .strict();

/** A playbook version in a path or query: a positive integer, as decimal digits. */
const versionNumber = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive integer (1-999999999)')
  .transform(Number);

/** The `version` path parameter alone (events and tests check each parameter on its own). */
export const playbookVersionParam = z.object({ version: versionNumber }).strict();

export const playbookVersionParams = z.object({ name, version: versionNumber }).strict();

export const playbookVersionsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** The previous page's `next`: versions strictly below it. */
    before: versionNumber.optional(),
  })
  .strict();

export const auditListQuery = z
  .object({
    /** Entries at or after this time. */
    since: epochMs.optional(),
    /** Entries before this time. */
    until: epochMs.optional(),
    action: z.enum(AUDIT_ACTIONS).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** The previous page's `next` cursor. */
    before: z.string().min(1).max(512).optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.since !== undefined && q.until !== undefined && q.until <= q.since) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be after since' });
    }
  });

/** GET /containments: `active=true` those that may be in effect, `active=false` those undone; absent, all. */
export const containmentListQuery = z
  .object({
    active: z.enum(['true', 'false']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** The previous page's `next` cursor. */
    after: z.string().min(1).max(512).optional(),
  })
  .strict();
