/**
 * Approvals with the tenant's JWT (docs/approvals.md): GET /approvals, the open questions oldest
 * first; POST /executions/{peid}/tasks/{task_id}/respond, an analyst's answer.
 */
import { decodeApprovalCursor, listApprovals, respondToApproval } from '../lib/engine/approvals.js';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import { approvalListQuery, approvalTaskParams } from '../lib/http/approval-schemas.js';
import { callerOf, jsonBody, parseWith } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import { httpHandler } from '../lib/lambda/http.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { approvalDeps, waitStore } from '../lib/wiring/approvals.js';

handlerPrelude(['mongo', 'queue']);

export const handler = httpHandler(async (event) => {
  const caller = callerOf(event);
  switch (event.routeKey) {
    case 'GET /approvals': {
      const q = parseWith(approvalListQuery, event.queryStringParameters ?? {}, 'query');
      const after = q.after === undefined ? undefined : decodeApprovalCursor(q.after);
      if (q.after !== undefined && after === undefined) {
        throw new ValidationError('invalid query', [{ path: 'after', message: 'not a cursor returned by this API' }]);
      }
      const page = await listApprovals(waitStore(), caller.tenant_code, {
        limit: q.limit,
        ...(after ? { after } : {}),
      });
      return jsonResponse(200, page, { 'cache-control': 'no-store' });
    }
    case 'POST /executions/{peid}/tasks/{task_id}/respond': {
      const ref = parseWith(approvalTaskParams, event.pathParameters ?? {}, 'path');
      const answered = await respondToApproval(approvalDeps(), caller, ref, jsonBody(event));
      return jsonResponse(200, answered);
    }
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
});
