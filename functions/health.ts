/** GET /health: liveness without touching any database. */

import { jsonResponse } from '../lib/http/responses.js';
import { httpHandler } from '../lib/lambda/http.js';

export const handler = httpHandler(async () => jsonResponse(200, { status: 'ok' }));
