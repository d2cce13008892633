/**
 * The one place where errors become HTTP responses. Our own AppErrors map to
 * their status; anything else is logged with its details and answered with a
 * generic 500 body, so driver messages and stack traces never reach a client.
 */
import { AppError, type ErrorCode, RateLimitedError } from '../errors.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { type JsonResponse, jsonResponse } from './responses.js';

const statusByCode: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
};

/** A dependency that is unreachable right now (MongoDB down, a connection cut): a retry may succeed. */
const UNAVAILABLE_ERRORS = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
  'MongoTopologyClosedError',
  // The instant between the container's MongoClient closing and reopening its topology (lib/clients/mongo-watchdog.ts).
  'MongoNotConnectedError',
]);
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

function isDependencyUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth += 1, e = e.cause) {
    if (UNAVAILABLE_ERRORS.has(e.name)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  }
  return false;
}

/** Maps any thrown value to the contract's error body. */
export function errorToResponse(err: unknown): JsonResponse {
  if (err instanceof AppError) {
    const status = statusByCode[err.code];
    if (status >= 500) {
      metrics.addMetric('Errors', MetricUnit.Count, 1);
      logger.error('request failed', { code: err.code, error: err, cause: err.cause });
    } else logger.info('request rejected', { code: err.code, message: err.message });
    const body: { code: ErrorCode; message: string; details?: unknown } = { code: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    const headers: Record<string, string> =
      err instanceof RateLimitedError
        ? { 'retry-after': String(err.retryAfterSeconds) }
        : status === 503
          ? { 'retry-after': '1' }
          : {};
    return jsonResponse(status, { error: body }, headers);
  }
  metrics.addMetric('Errors', MetricUnit.Count, 1);
  if (isDependencyUnavailable(err)) {
    // Unavailable, not broken: a clear 503 the client may retry (the driver's message stays in the log).
    logger.error('dependency unavailable', { error: err as Error });
    return jsonResponse(
      503,
      { error: { code: 'SERVICE_UNAVAILABLE', message: 'a dependency is unavailable, try again' } },
      { 'retry-after': '1' },
    );
  }
  logger.error('unhandled error', { error: err as Error });
  return jsonResponse(500, { error: { code: 'INTERNAL', message: 'internal error' } });
}
