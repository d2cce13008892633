/** Request schemas of the HTTP routes, compiled once at module scope. */
import * as z from 'zod';
import { AUDIT_ACTIONS } from '../domain/audit.js';
import { EXECUTION_STATUSES } from '../domain/statuses.js';

const name = z.string().regex(/^[a-z0-9-]{1,64}$/, 'must match [a-z0-9-]{1,64}');

export const playbookNameParam = z.object({ name }).strict();

/** Run ids are UUIDs; anything else cannot exist. */
export const peidParam = z.object({ peid: z.uuid('must be a UUID') }).strict();

export const runPlaybookBody = z
  .object({
    playbook_name: name,
    alert_id: z.string().min(1).max(256),
    alert: z.record(z.string(), z.unknown()).default({}),
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

/** Epoch milliseconds, as decimal digits. */
const epochMs = z
  .string()
  .regex(/^[0-9]{1,16}$/, 'must be epoch milliseconds (a non-negative integer)')
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n), 'must be a safe integer');

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
