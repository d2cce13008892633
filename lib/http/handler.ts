/**
 * The shared middy stack of every HTTP function: Powertools logger context and
 * cold-start flag, EMF metrics flush, tracing, and the single error mapper
 * registered last so every thrown error becomes the contract's JSON body.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics } from '../observability.js';
import { tracingMiddleware } from '../tracing.js';
import { errorToResponse } from './errors.js';
import type { ApiEvent } from './request.js';
import type { JsonResponse } from './responses.js';

export type RouteHandler = (event: ApiEvent, context: Context) => Promise<JsonResponse>;

/** Wraps a route function in the shared middleware stack. */
export function httpHandler(route: RouteHandler) {
  return middy<ApiEvent, JsonResponse, Error, Context>()
    .use(tracingMiddleware())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
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
