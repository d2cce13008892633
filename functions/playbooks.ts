/** /playbooks routes: create, list, read, replace and delete the caller's playbooks; their history. */
import { randomUUID } from 'node:crypto';
import { getConfig } from '../lib/config.js';
import { getPlaybookVersion, listPlaybookVersions, restorePlaybookVersion } from '../lib/engine/playbook-versions.js';
import {
  createPlaybook,
  deletePlaybook,
  getPlaybook,
  listPlaybooks,
  type PlaybookWrite,
  updatePlaybook,
} from '../lib/engine/playbooks.js';
import { NotFoundError } from '../lib/errors.js';
import { callerOf, jsonBody, noBody, parseWith } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import {
  playbookListQuery,
  playbookNameParam,
  playbookVersionParams,
  playbookVersionsQuery,
} from '../lib/http/schemas.js';
import { httpHandler } from '../lib/lambda/http.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { auditLog } from '../lib/wiring/audit.js';
import { playbookCatalog } from '../lib/wiring/catalog.js';

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
  const versionPath = () => parseWith(playbookVersionParams, event.pathParameters ?? {}, 'path');
  const write = (): PlaybookWrite => ({
    tenant_code: caller.tenant_code,
    actor: caller.sub,
    now: Date.now(),
    audit: auditLog(),
    limits: workLimits(),
  });
  switch (event.routeKey) {
    case 'POST /playbooks':
      return jsonResponse(201, await createPlaybook(playbookCatalog(), write(), jsonBody(event), randomUUID));
    case 'GET /playbooks': {
      const q = parseWith(playbookListQuery, event.queryStringParameters ?? {}, 'query');
      return jsonResponse(200, await listPlaybooks(playbookCatalog(), caller.tenant_code, q));
    }
    case 'GET /playbooks/{name}':
      return jsonResponse(200, await getPlaybook(playbookCatalog(), caller.tenant_code, pathName()));
    case 'PUT /playbooks/{name}': {
      const name = pathName();
      return jsonResponse(200, await updatePlaybook(playbookCatalog(), write(), name, jsonBody(event)));
    }
    case 'DELETE /playbooks/{name}':
      await deletePlaybook(playbookCatalog(), write(), pathName());
      return jsonResponse(204, null);
    case 'GET /playbooks/{name}/versions': {
      const name = pathName();
      const q = parseWith(playbookVersionsQuery, event.queryStringParameters ?? {}, 'query');
      return jsonResponse(200, await listPlaybookVersions(playbookCatalog(), caller.tenant_code, name, q));
    }
    case 'GET /playbooks/{name}/versions/{version}': {
      const { name, version } = versionPath();
      return jsonResponse(200, await getPlaybookVersion(playbookCatalog(), caller.tenant_code, name, version));
    }
    case 'POST /playbooks/{name}/versions/{version}/restore': {
      const { name, version } = versionPath();
      noBody(event);
      return jsonResponse(200, await restorePlaybookVersion(playbookCatalog(), write(), name, version));
    }
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
});
