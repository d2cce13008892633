/** GET /analytics/top-playbooks: the caller's last computed top-playbooks report. */
import { readTopPlaybooks } from '../lib/engine/top-playbooks.js';
import { NotFoundError } from '../lib/errors.js';
import { callerOf } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import { httpHandler } from '../lib/lambda/http.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { topPlaybooksDeps } from '../lib/wiring/analytics.js';

handlerPrelude(['mongo', 'redis', 'analytics']);

export const handler = httpHandler(async (event) => {
  const { tenant_code } = callerOf(event);
  switch (event.routeKey) {
    case 'GET /analytics/top-playbooks':
      return jsonResponse(200, await readTopPlaybooks(topPlaybooksDeps(), tenant_code));
    default:
      throw new NotFoundError(`no route ${event.routeKey}`);
  }
});
