/** POST /runplaybook: start a run of the caller's playbook (idempotent with Idempotency-Key). */
import { startRun } from '../lib/engine/start-run.js';
import { callerOf, headerOf, jsonBody, parseWith } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import { idempotencyKeyHeader, runPlaybookBody } from '../lib/http/schemas.js';
import { httpHandler } from '../lib/lambda/http.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { idempotency, startRunDeps } from '../lib/wiring/start.js';

handlerPrelude(['mongo', 'queue', 'idempotency', 'redis', 'cache']);

export const handler = httpHandler(async (event, context) => {
  const caller = callerOf(event);
  const input = parseWith(runPlaybookBody, jsonBody(event), 'request body');
  const rawKey = headerOf(event, 'idempotency-key');
  const start = () => startRun(startRunDeps(), caller, input);
  const result =
    rawKey === undefined
      ? await start()
      : await idempotency().once(
          `runplaybook#${caller.tenant_code}`,
          parseWith(idempotencyKeyHeader, rawKey, 'Idempotency-Key header', 'Idempotency-Key'),
          input,
          start,
          context,
        );
  return jsonResponse(202, result);
});
