/**
 * Edge parsing of API Gateway v2 events: body size and JSON, the caller's
 * tenant from the authorizer context, and zod schemas turned into 400s that
 * name each offending field.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from 'zod';
import { type FieldIssue, PayloadTooLargeError, UnauthorizedError, ValidationError } from '../errors.js';

/** The contract's request body limit. */
export const MAX_BODY_BYTES = 256 * 1024;

/** What the authorizer passes to every handler. */
export interface Caller {
  tenant_code: string;
  sub: string;
}

/** The event shape our handlers receive: HTTP API v2 with the Lambda authorizer's context. */
export type ApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { lambda?: Record<string, unknown> };
  };
};

/** Formats a zod issue path as `tasks[2].depends_on[0]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out.length === 0 ? String(seg) : `.${String(seg)}`;
  }
  return out.length === 0 ? '(root)' : out;
}

/**
 * Converts zod issues to field issues (capped so hostile input cannot produce huge responses);
 * an unknown field or query parameter is reported at its own path, as playbook validation does.
 */
export function zodIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const i of error.issues) {
    if (i.code === 'unrecognized_keys') {
      for (const key of i.keys.slice(0, 50)) {
        const shown = key.length > 64 ? `${key.slice(0, 64)}...` : key;
        out.push({ path: formatPath([...i.path, shown], prefix), message: `unknown field "${shown}"` });
      }
    } else {
      out.push({ path: formatPath(i.path, prefix), message: i.message });
    }
  }
  return out.slice(0, 50);
}

/** Parses `input` with `schema` or throws a ValidationError naming every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string, prefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(`invalid ${what}`, zodIssues(result.error, prefix));
  return result.data;
}

/** The raw body as text, refusing bodies over the limit. */
function bodyText(event: ApiEvent): string {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return text;
}

/** The body's bytes exactly as API Gateway delivered them (base64 decoded), refusing bodies over the limit. */
export function rawBody(event: ApiEvent): Buffer {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return bytes;
}

/** The JSON body, or a 400 naming `(body)` when it is missing or not JSON. */
export function jsonBody(event: ApiEvent): unknown {
  const text = bodyText(event);
  if (text.trim().length === 0) {
    throw new ValidationError('request body is required', [{ path: '(body)', message: 'expected a JSON object' }]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError('request body is not valid JSON', [
      { path: '(body)', message: err instanceof Error ? err.message : 'invalid JSON' },
    ]);
  }
}

/** Refuses a body on a route that takes none (an empty body or `{}` is accepted): 400 naming `(body)`. */
export function noBody(event: ApiEvent): void {
  const text = bodyText(event).trim();
  if (text.length === 0 || /^\{\s*\}$/.test(text)) return;
  throw new ValidationError('this route takes no request body', [
    { path: '(body)', message: 'expected no body (or {})' },
  ]);
}

/** The authenticated caller; the authorizer guarantees it, so its absence is a 401. */
export function callerOf(event: ApiEvent): Caller {
  const ctx = event.requestContext.authorizer?.lambda;
  const tenant = ctx?.tenant_code;
  const sub = ctx?.sub;
  if (typeof tenant !== 'string' || tenant.length === 0 || typeof sub !== 'string') {
    throw new UnauthorizedError('missing caller identity');
  }
  return { tenant_code: tenant, sub };
}

/** A header value, case-insensitively. */
export function headerOf(event: ApiEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === wanted) return v;
  }
  return undefined;
}
