/** Request schemas of the HTTP routes, compiled once at module scope. */
import * as z from 'zod';
import { MAX_INPUT_JSON_DEPTH, tooDeepAt } from '../domain/json-value.js';
import { EXECUTION_STATUSES } from '../domain/statuses.js';

const name = z.string().regex(/^[a-z0-9-]{1,64}$/, 'must match [a-z0-9-]{1,64}');

export const playbookNameParam = z.object({ name }).strict();

/** Run ids are UUIDs; anything else cannot exist. */
export const peidParam = z.object({ peid: z.uuid('must be a UUID') }).strict();

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
  })
  .strict();

export const executionListQuery = z
  .object({
    status: z.enum(EXECUTION_STATUSES as [string, ...string[]]).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    before: z.string().min(1).max(256).optional(),
  })
  .strict();

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
