/** GET /audit: the caller's tenant's audit log, newest first (docs/audit.md). */
import { getConfig } from '../lib/config.js';
import { decodeAuditCursor, listAudit } from '../lib/engine/audit.js';
import { NotFoundError, ValidationError } from '../lib/errors.js';
import { callerOf, parseWith } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import { auditListQuery } from '../lib/http/schemas.js';
import { httpHandler } from '../lib/lambda/http.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { auditLog } from '../lib/wiring/audit.js';

handlerPrelude(['mongo', 'audit']);

export const handler = httpHandler(async (event) => {
  const { tenant_code } = callerOf(event);
  if (event.routeKey !== 'GET /audit') throw new NotFoundError(`no route ${event.routeKey}`);
  const q = parseWith(auditListQuery, event.queryStringParameters ?? {}, 'query');
  const before = q.before === undefined ? undefined : decodeAuditCursor(q.before);
  if (q.before !== undefined && before === undefined) {
    throw new ValidationError('invalid query', [{ path: 'before', message: 'not a cursor returned by this API' }]);
  }
  const page = await listAudit(
    auditLog(),
    tenant_code,
    {
      limit: q.limit,
      ...(q.since !== undefined ? { since: q.since } : {}),
      ...(q.until !== undefined ? { until: q.until } : {}),
      ...(q.action !== undefined ? { action: q.action } : {}),
      ...(before ? { before } : {}),
    },
    { now: Date.now(), graceMs: getConfig('audit').AUDIT_OUTBOX_GRACE_MS },
  );
  return jsonResponse(200, page, { 'cache-control': 'no-store' });
});
