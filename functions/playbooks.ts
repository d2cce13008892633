/** /playbooks routes: create and read the caller's playbook definitions. */
import { randomUUID } from 'node:crypto';
import { createPlaybook, getPlaybook } from '../lib/engine/playbooks.js';
import { NotFoundError } from '../lib/errors.js';
import { httpHandler } from '../lib/http/handler.js';
import { handlerPrelude } from '../lib/http/prelude.js';
import { callerOf, jsonBody, parseWith } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import { playbookNameParam } from '../lib/http/schemas.js';
import { playbookStore } from '../lib/services.js';

handlerPrelude(['mongo']);

export const handler = httpHandler(async (event) => {
  const caller = callerOf(event);
  switch (event.routeKey) {
    case 'POST /playbooks': {
      const created = await createPlaybook(playbookStore(), caller.tenant_code, jsonBody(event), {
        newId: randomUUID,
        now: Date.now(),
      });
      return jsonResponse(201, created);
    }
    case 'GET /playbooks/{name}': {
      const { name } = parseWith(playbookNameParam, event.pathParameters ?? {}, 'path');
      return jsonResponse(200, await getPlaybook(playbookStore(), caller.tenant_code, name));
    }
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
});
