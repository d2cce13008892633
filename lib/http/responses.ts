/** API Gateway (payload 2.0) JSON responses. */
export interface JsonResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A JSON response with the given status and body; 204 has no body. */
export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): JsonResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: statusCode === 204 ? '' : JSON.stringify(body),
  };
}

/** Lambda's limit on a synchronous invocation's response payload (the whole JSON envelope). */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;
/** Room kept for the envelope around the body: status code and headers. */
const ENVELOPE_RESERVE_BYTES = 16 * 1024;

/**
 * The size limit of a JSON body that keeps the response within Lambda's limit: the body is a
 * string inside the envelope, so each piece of it costs its UTF-8 bytes once escaped.
 */
export function jsonBodyLimit(): { maxBytes: number; sizeOf(json: string): number } {
  return {
    maxBytes: LAMBDA_RESPONSE_LIMIT_BYTES - ENVELOPE_RESERVE_BYTES,
    sizeOf: (json) => Buffer.byteLength(JSON.stringify(json), 'utf8') - 2,
  };
}
