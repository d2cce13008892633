/** The HTTP functions' stack with Powertools Tracer (lib/tracing.ts): most HTTP functions. */
import { tracingMiddleware } from '../tracing.js';
import { httpStack, type RouteHandler } from './http-stack.js';

export type { RouteHandler } from './http-stack.js';

/** Wraps a route function in the shared middleware stack, traced. */
export function httpHandler(route: RouteHandler) {
  return httpStack(route, tracingMiddleware());
}
