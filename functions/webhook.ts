/**
 * POST /hooks/{hook_id}, without the JWT authorizer: a signed delivery starts a run of the hook's
 * playbook (lib/engine/webhook-receive.ts). The signature is checked on the raw bytes API Gateway
 * delivered (base64-decoded when it encoded them); the body is then parsed like every request body.
 */
import { receiveWebhook } from '../lib/engine/webhook-receive.js';
import { headerOf, jsonBody, rawBody } from '../lib/http/request.js';
import { jsonResponse } from '../lib/http/responses.js';
import { untracedHttpHandler } from '../lib/lambda/http-untraced.js';
import { handlerPrelude } from '../lib/lambda/prelude.js';
import { receiveWebhookDeps } from '../lib/wiring/triggers.js';

handlerPrelude(['mongo', 'redis', 'cache', 'queue', 'idempotency', 'webhooks', 'secrets']);

export const handler = untracedHttpHandler(async (event, context) => {
  const delivery = {
    hook_id: event.pathParameters?.hook_id ?? '',
    timestamp: headerOf(event, 'x-playbook-timestamp'),
    signature: headerOf(event, 'x-playbook-signature'),
    delivery: headerOf(event, 'x-playbook-delivery'),
    raw: rawBody(event),
    parseBody: () => jsonBody(event),
  };
  return jsonResponse(202, await receiveWebhook(receiveWebhookDeps(), delivery, context));
});
