/**
 * The HTTP side of callback tokens (POST and GET /callbacks/{token}, no JWT): a form post
 * (application/x-www-form-urlencoded, from the approval page) is answered with a page, a JSON
 * body with JSON; either way with no-store, no-referrer and nosniff. Errors keep their status
 * (404 for any token not valid now, 400 for a bad answer, 503 when a dependency is down) and are
 * mapped by the service's one error mapper; a page shows them to a person.
 */
import { ValidationError } from '../errors.js';
import { CALLBACK_HEADERS, notFoundPage, PAGE_HEADERS, problemPage } from './approval-page.js';
import { errorToResponse } from './errors.js';
import { type ApiEvent, headerOf, jsonBody, rawBody } from './request.js';
import type { JsonResponse } from './responses.js';

/** True when the request is the approval page's form post (or a page view): answer with a page. */
export function wantsPage(event: ApiEvent): boolean {
  if (event.requestContext.http.method === 'GET') return true;
  return (headerOf(event, 'content-type') ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** The answer's body: form fields (each at most once) or JSON. */
export function callbackBody(event: ApiEvent): unknown {
  if (!wantsPage(event)) return jsonBody(event);
  const params = new URLSearchParams(rawBody(event).toString('utf8'));
  const body: Record<string, string> = {};
  for (const [key, value] of params) {
    if (Object.hasOwn(body, key)) {
      throw new ValidationError('invalid answer', [{ path: key, message: 'given more than once' }]);
    }
    body[key] = value;
  }
  return body;
}

export function pageResponse(statusCode: number, html: string): JsonResponse {
  return { statusCode, headers: { ...PAGE_HEADERS }, body: html };
}

/** Any error as the callback routes answer it: the contract's JSON body, or a page for a person. */
export function callbackError(err: unknown, page: boolean): JsonResponse {
  const res = errorToResponse(err);
  if (!page) return { ...res, headers: { ...res.headers, ...CALLBACK_HEADERS } };
  if (res.statusCode === 404) return pageResponse(404, notFoundPage());
  const { error } = JSON.parse(res.body) as {
    error: { message: string; details?: Array<{ path: string; message: string }> };
  };
  const shown = pageResponse(res.statusCode, problemPage(res.statusCode, error.message, error.details ?? []));
  return { ...shown, headers: { ...res.headers, ...shown.headers } };
}
