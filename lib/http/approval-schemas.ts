/** Request schemas of the approval routes, compiled once at module scope. */
import * as z from 'zod';

/** A task of a run: a playbook task id, or a for_each item's (`task[3]`). */
export const approvalTaskParams = z
  .object({
    peid: z.uuid('must be a UUID'),
    task_id: z.string().regex(/^[a-z0-9_]{1,64}(\[\d{1,4}\])?$/, 'must be a task id ([a-z0-9_]{1,64})'),
  })
  .strict();

/** The `task_id` path parameter alone (events and tests check each parameter on its own). */
export const taskIdParam = approvalTaskParams.pick({ task_id: true });

/** A callback token as a path parameter (any other value is answered 404, never 400: tokens cannot be probed). */
export const callbackTokenParam = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }).strict();

export const approvalListQuery = z
  .object({
    /** Only the open questions are listed. */
    status: z.enum(['waiting']).default('waiting'),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    /** The previous page's `next` cursor. */
    after: z.string().min(1).max(512).optional(),
  })
  .strict();
