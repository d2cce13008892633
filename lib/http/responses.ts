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
