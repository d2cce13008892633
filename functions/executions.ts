/** /executions routes: read, list, cancel, redrive and roll back the caller's runs; the tenant's containments. */

import { decodeContainmentCursor, listContainments } from '../lib/engine/containments.js';
import type { ExecutionRecord } from '../lib/engine/model.js';
import { redriveRun } from '../lib/engine/redrive.js';
import { rollbackRun } from '../lib/engine/rollback.js';
import { cancelRun, decodeCursor, getExecution, listExecutions } from '../lib/engine/runs.js';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import { callerOf, noBody, parseWith } from '../lib/http/request.js';
import { jsonBodyLimit, jsonResponse } from '../lib/http/responses.js';
import { containmentListQuery, executionListQuery, peidParam } from '../lib/http/schemas.js';
import { timelineResponse } from '../lib/http/timeline.js';
import { httpHandler } from '../lib/lambda/http.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { timerStore } from '../lib/wiring/approvals.js';
import { auditLog } from '../lib/wiring/audit.js';
import { redriveDeps, rollbackDeps } from '../lib/wiring/maintenance.js';
import { runStore, taskQueue, undoStore } from '../lib/wiring/runs.js';

// A rollback's start is a durable timer (docs/containment.md).
handlerPrelude(['mongo', 'queue', 'timers']);

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
    case 'POST /executions/{peid}/rollback': {
      const { peid } = parseWith(peidParam, event.pathParameters ?? {}, 'path');
      noBody(event);
      return jsonResponse(202, await rollbackRun(rollbackDeps(), { tenant_code, peid }, sub));
    }
    case 'GET /containments': {
      const q = parseWith(containmentListQuery, event.queryStringParameters ?? {}, 'query');
      const after = q.after === undefined ? undefined : decodeContainmentCursor(q.after);
      if (q.after !== undefined && after === undefined) {
        throw new ValidationError('invalid query', [{ path: 'after', message: 'not a cursor returned by this API' }]);
      }
      const page = await listContainments(undoStore(), tenant_code, {
        limit: q.limit,
        ...(q.active !== undefined ? { active: q.active === 'true' } : {}),
        ...(after ? { after } : {}),
      });
      return jsonResponse(200, page, { 'cache-control': 'no-store' });
    }
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
});
