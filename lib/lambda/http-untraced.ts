/**
 * The HTTP functions' stack without Powertools Tracer, for the functions whose bundles carry the
 * webhook key's SSM client (webhook, triggers): the X-Ray SDK would take them over the 1.5 MB a
 * bundle may weigh (bench: cold-start). Lambda active tracing still records their invocations.
 */
import { httpStack, type RouteHandler } from './http-stack.js';

/** Wraps a route function in the shared middleware stack, without the Tracer. */
export function untracedHttpHandler(route: RouteHandler) {
  return httpStack(route);
}
