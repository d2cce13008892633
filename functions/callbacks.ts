/**
 * GET and POST /callbacks/{token}, without the JWT authorizer (docs/approvals.md): the approval
 * page, and an answer by whoever holds the task's single-use callback token. Anything that is not
 * a token valid now is a 404, never a 401 or 403, so tokens cannot be probed; the token is never
 * logged (routes are logged by their template, `/callbacks/{token}`).
 */
import { answerCallback, callbackQuestion } from '../lib/engine/approvals.js';
import { NotFoundError } from '../lib/errors.js';
import { CALLBACK_HEADERS, questionPage, recordedPage } from '../lib/http/approval-page.js';
import { callbackBody, callbackError, pageResponse, wantsPage } from '../lib/http/callback-http.js';
import { jsonResponse } from '../lib/http/responses.js';
import { httpHandler } from '../lib/lambda/http.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { approvalDeps } from '../lib/wiring/approvals.js';

handlerPrelude(['mongo', 'queue']);

export const handler = httpHandler(async (event) => {
  const token = event.pathParameters?.token ?? '';
  const page = wantsPage(event);
  try {
    switch (event.routeKey) {
      case 'GET /callbacks/{token}':
        return pageResponse(200, questionPage(await callbackQuestion(approvalDeps(), token)));
      case 'POST /callbacks/{token}': {
        const answered = await answerCallback(approvalDeps(), token, () => callbackBody(event));
        return page ? pageResponse(200, recordedPage(answered)) : jsonResponse(200, answered, { ...CALLBACK_HEADERS });
      }
      default:
        throw new NotFoundError(`no route ${event.routeKey}`);
    }
  } catch (err) {
    return callbackError(err, page);
  }
});
