/** /playbooks routes: create, list, read, replace and delete the caller's playbook definitions. */
import { randomUUID } from 'node:crypto';
import { getConfig } from '../lib/config.js';
import { createPlaybook, deletePlaybook, getPlaybook, listPlaybooks, updatePlaybook } from '../lib/engine/playbooks.js';
import { NotFoundError } from '../lib/errors.js';
import { httpHandler } from '../lib/http/handler.js';
import { handlerPrelude } from '../lib/http/prelude.js';
import { callerOf, jsonBody, parseWith } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import { playbookListQuery, playbookNameParam } from '../lib/http/schemas.js';
import { playbookCatalog } from '../lib/services/catalog.js';

// Writes refresh the playbook cache in Redis; management reads go to MongoDB (read-your-writes).
// `engine`: the nesting limit and work budget a definition is checked against.
handlerPrelude(['mongo', 'redis', 'cache', 'engine']);

const workLimits = () => ({
  budget: getConfig('engine').RUN_WORK_BUDGET,
  maxDepth: getConfig('engine').SUBPLAYBOOK_MAX_DEPTH,
});

export const handler = httpHandler(async (event) => {
  const caller = callerOf(event);
  const pathName = () => parseWith(playbookNameParam, event.pathParameters ?? {}, 'path').name;
  switch (event.routeKey) {
    case 'POST /playbooks': {
      const created = await createPlaybook(
        playbookCatalog(),
        caller.tenant_code,
        jsonBody(event),
        { newId: randomUUID, now: Date.now() },
        workLimits(),
      );
      return jsonResponse(201, created);
    }
    case 'GET /playbooks': {
      const q = parseWith(playbookListQuery, event.queryStringParameters ?? {}, 'query');
      return jsonResponse(200, await listPlaybooks(playbookCatalog(), caller.tenant_code, q));
    }
    case 'GET /playbooks/{name}':
      return jsonResponse(200, await getPlaybook(playbookCatalog(), caller.tenant_code, pathName()));
    case 'PUT /playbooks/{name}': {
      const name = pathName();
      const body = jsonBody(event);
      const updated = await updatePlaybook(playbookCatalog(), caller.tenant_code, name, body, Date.now(), workLimits());
      return jsonResponse(200, updated);
    }
    case 'DELETE /playbooks/{name}':
      await deletePlaybook(playbookCatalog(), caller.tenant_code, pathName());
      return jsonResponse(204, null);
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
});
