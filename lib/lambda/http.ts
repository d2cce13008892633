/**
 * The HTTP functions' stack: the shared one (base.ts) with tracing, each request's log lines
 * keyed by route and tenant, and the single error mapper registered last so every thrown error
 * becomes the contract's JSON body.
 */
import type { Context } from 'aws-lambda';
import { errorToResponse } from '../http/errors.js';
import type { ApiEvent } from '../http/request.js';
import type { JsonResponse } from '../http/responses.js';
import { logger } from '../observability.js';
import { tracingMiddleware } from '../tracing.js';
import { baseHandler } from './base.js';

export type RouteHandler = (event: ApiEvent, context: Context) => Promise<JsonResponse>;

/** Wraps a route function in the shared middleware stack. */
export function httpHandler(route: RouteHandler) {
  return baseHandler<ApiEvent, JsonResponse>(tracingMiddleware())
    .use({
      onError: async (request) => {
        request.response = errorToResponse(request.error);
      },
    })
    .handler(async (event, context) => {
      // Every log line of a request names its tenant (the authorizer's context; absent on /health).
      const tenant = event.requestContext.authorizer?.lambda?.tenant_code;
      logger.appendKeys({ route: event.routeKey, ...(typeof tenant === 'string' ? { tenant_code: tenant } : {}) });
      return route(event, context);
    });
}
