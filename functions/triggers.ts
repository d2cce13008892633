/** A playbook's triggers: its webhooks (create, list, delete) and its schedule (set, read, delete). */
import { deleteSchedule, getSchedule, setSchedule } from '../lib/engine/schedules.js';
import { createWebhook, deleteWebhook, listWebhooks } from '../lib/engine/webhooks.js';
import { NotFoundError } from '../lib/errors.js';
import { callerOf, jsonBody, parseWith } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import { playbookNameParam } from '../lib/http/schemas.js';
import { hookIdParam, scheduleBody, webhookCreateBody } from '../lib/http/trigger-schemas.js';
import { untracedHttpHandler } from '../lib/lambda/http-untraced.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { scheduleDeps } from '../lib/wiring/schedules.js';
import { webhookDeps } from '../lib/wiring/triggers.js';

// Creating a webhook derives its secret from the webhook key (SSM in AWS: the secrets section's endpoint).
handlerPrelude(['mongo', 'webhooks', 'secrets']);

export const handler = untracedHttpHandler(async (event) => {
  const caller = callerOf(event);
  const name = () =>
    parseWith(playbookNameParam.pick({ name: true }), { name: event.pathParameters?.name }, 'path').name;
  switch (event.routeKey) {
    case 'POST /playbooks/{name}/webhooks': {
      const playbook = name();
      const body = (event.body ?? '').trim() === '' ? {} : jsonBody(event);
      const mappings = parseWith(webhookCreateBody, body, 'request body');
      return jsonResponse(201, await createWebhook(webhookDeps(), caller, playbook, mappings));
    }
    case 'GET /playbooks/{name}/webhooks':
      return jsonResponse(200, await listWebhooks(webhookDeps(), caller.tenant_code, name()));
    case 'DELETE /playbooks/{name}/webhooks/{hook_id}': {
      const playbook = name();
      const { hook_id } = parseWith(hookIdParam, { hook_id: event.pathParameters?.hook_id }, 'path');
      await deleteWebhook(webhookDeps(), caller, playbook, hook_id);
      return jsonResponse(204, null);
    }
    case 'PUT /playbooks/{name}/schedule': {
      const playbook = name();
      const input = parseWith(scheduleBody, jsonBody(event), 'request body');
      const spec = input.cron !== undefined ? { cron: input.cron } : { every_minutes: input.every_minutes as number };
      const schedule = await setSchedule(scheduleDeps(), caller, playbook, {
        ...spec,
        alert: input.alert,
        enabled: input.enabled,
      });
      return jsonResponse(200, schedule);
    }
    case 'GET /playbooks/{name}/schedule':
      return jsonResponse(200, await getSchedule(scheduleDeps(), caller.tenant_code, name()));
    case 'DELETE /playbooks/{name}/schedule':
      await deleteSchedule(scheduleDeps(), caller, name());
      return jsonResponse(204, null);
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
});
