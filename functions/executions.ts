/** /executions routes: read, list and cancel the caller's runs. */

import type { ExecutionRecord } from '../lib/engine/model.js';
import { redriveRun } from '../lib/engine/redrive.js';
import { cancelRun, decodeCursor, getExecution, listExecutions } from '../lib/engine/runs.js';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import { callerOf, parseWith } from '../lib/http/request.js';
import { jsonBodyLimit, jsonResponse } from '../lib/http/responses.js';
import { executionListQuery, peidParam } from '../lib/http/schemas.js';
import { timelineResponse } from '../lib/http/timeline.js';
import { httpHandler } from '../lib/lambda/http.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { timerStore } from '../lib/wiring/approvals.js';
import { auditLog } from '../lib/wiring/audit.js';
import { redriveDeps } from '../lib/wiring/maintenance.js';
import { runStore, taskQueue } from '../lib/wiring/runs.js';

handlerPrelude(['mongo', 'queue']);

/** A run's answer stays within Lambda's response payload limit (outputs left out beyond it). */
const RESPONSE_LIMIT = jsonBodyLimit();

export const handler = httpHandler(async (event) => {
  const { tenant_code, sub } = callerOf(event);
  switch (event.routeKey) {
    case 'GET /executions': {
      const q = parseWith(executionListQuery, event.queryStringParameters ?? {}, 'query');
      const before = q.before === undefined ? undefined : decodeCursor(q.before);
      if (q.before !== undefined && before === undefined) {
        throw new ValidationError('invalid query', [{ path: 'before', message: 'not a cursor returned by this API' }]);
      }
      const { status, before: _cursor, ...search } = q;
      const page = await listExecutions(runStore(), tenant_code, {
        ...search,
        ...(status ? { status: status as ExecutionRecord['execution_status'] } : {}),
        ...(before ? { before } : {}),
      });
      return jsonResponse(200, page);
    }
    case 'GET /executions/{peid}': {
      const { peid } = parseWith(peidParam, event.pathParameters ?? {}, 'path');
      return jsonResponse(200, await getExecution(runStore(), { tenant_code, peid }, RESPONSE_LIMIT));
    }
    case 'GET /executions/{peid}/timeline':
      return timelineResponse(runStore(), event, tenant_code, Date.now());
    case 'POST /executions/{peid}/cancel': {
      const { peid } = parseWith(peidParam, event.pathParameters ?? {}, 'path');
      const audit = { outbox: auditLog(), actor: sub };
      const ref = { tenant_code, peid };
      const status = await cancelRun(runStore(), ref, Date.now(), taskQueue(), audit, timerStore());
      return jsonResponse(202, { peid, execution_status: status });
    }
    case 'POST /executions/{peid}/redrive': {
      const { peid } = parseWith(peidParam, event.pathParameters ?? {}, 'path');
      return jsonResponse(202, await redriveRun(redriveDeps(), { tenant_code, peid }, sub));
    }
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
});
