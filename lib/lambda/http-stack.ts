/**
 * The HTTP functions' stack, with or without tracing (http.ts, http-untraced.ts): the shared one
 * (base.ts), each request's log lines keyed by route and tenant, and the single error mapper
 * registered last so every thrown error becomes the contract's JSON body.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { errorToResponse } from '../http/errors.js';
import type { ApiEvent } from '../http/request.js';
import type { JsonResponse } from '../http/responses.js';
import { logger } from '../observability.js';
import { baseHandler } from './base.js';

export type RouteHandler = (event: ApiEvent, context: Context) => Promise<JsonResponse>;

/** Wraps a route function in the shared middleware stack, `before` ahead of the rest. */
export function httpStack(route: RouteHandler, before: MiddlewareObj[] = []) {
  return baseHandler<ApiEvent, JsonResponse>(before)
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
