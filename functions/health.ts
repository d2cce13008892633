/** GET /health: liveness without touching any database. */
import { httpHandler } from '../lib/http/handler.js';
import { jsonResponse } from '../lib/http/responses.js';

export const handler = httpHandler(async () => jsonResponse(200, { status: 'ok' }));
