/** Request schemas of the webhook and schedule routes, compiled once at module scope. */
import * as z from 'zod';
import { MAX_CRON_LENGTH, MAX_EVERY_MINUTES } from '../domain/schedule-time.js';
import { MAX_MAPPING_LENGTH } from '../engine/webhook-mappings.js';
import { HOOK_ID } from '../engine/webhook-receive.js';

/** `{hook_id}` of the management routes (a delivery's hook id is not validated apart: any bad one is a 401). */
export const hookIdParam = z
  .object({ hook_id: z.string().regex(HOOK_ID, 'must be a webhook id (wh_ and 22 characters)') })
  .strict();

const mapping = z.string().min(1).max(MAX_MAPPING_LENGTH);

/** POST /playbooks/{name}/webhooks: optional `{{ jsonata }}` mappings of the body (an empty body is `{}`). */
export const webhookCreateBody = z.object({ alert_id: mapping.optional(), alert: mapping.optional() }).strict();

/** PUT /playbooks/{name}/schedule: `cron` (5 fields, UTC) or `every_minutes`, an alert, enabled. */
export const scheduleBody = z
  .object({
    cron: z.string().min(1).max(MAX_CRON_LENGTH).optional(),
    every_minutes: z.int().min(1).max(MAX_EVERY_MINUTES).optional(),
    alert: z.record(z.string(), z.unknown()).default({}),
    enabled: z.boolean().default(true),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.cron === undefined) === (v.every_minutes === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give exactly one of cron and every_minutes' });
    }
  });
