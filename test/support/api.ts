/**
 * An in-process API Gateway (HTTP API, payload 2.0) for tests: matches the
 * route, answers 401 without a bearer token and 403 when the real authorizer
 * refuses it (API Gateway's own bodies), then invokes the real handler with
 * the authorizer's context, exactly as the deployed API does.
 */
import type { APIGatewayRequestAuthorizerEventV2, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';

type Handler = (event: never, context: Context) => Promise<unknown>;

export interface Route {
  method: string;
  path: string;
  /** serverless.yml function key. */
  fn: string;
  auth: boolean;
  load: () => Promise<{ handler: unknown }>;
}

/** Every HTTP route of the service (kept equal to serverless.yml by a test). */
export const ROUTES: Route[] = [
  { method: 'GET', path: '/health', fn: 'health', auth: false, load: () => import('../../functions/health.js') },
  {
    method: 'POST',
    path: '/playbooks',
    fn: 'playbooks',
    auth: true,
    load: () => import('../../functions/playbooks.js'),
  },
  {
    method: 'GET',
    path: '/playbooks',
    fn: 'playbooks',
    auth: true,
    load: () => import('../../functions/playbooks.js'),
  },
  {
    method: 'GET',
    path: '/playbooks/{name}',
    fn: 'playbooks',
    auth: true,
    load: () => import('../../functions/playbooks.js'),
  },
  {
    method: 'PUT',
    path: '/playbooks/{name}',
    fn: 'playbooks',
    auth: true,
    load: () => import('../../functions/playbooks.js'),
  },
  {
    method: 'DELETE',
    path: '/playbooks/{name}',
    fn: 'playbooks',
    auth: true,
    load: () => import('../../functions/playbooks.js'),
  },
  ...(
    [
      ['POST', '/playbooks/{name}/webhooks'],
      ['GET', '/playbooks/{name}/webhooks'],
      ['DELETE', '/playbooks/{name}/webhooks/{hook_id}'],
      ['PUT', '/playbooks/{name}/schedule'],
      ['GET', '/playbooks/{name}/schedule'],
      ['DELETE', '/playbooks/{name}/schedule'],
    ] as const
  ).map(([method, path]) => ({
    method,
    path,
    fn: 'triggers',
    auth: true,
    load: () => import('../../functions/triggers.js'),
  })),
  {
    method: 'POST',
    path: '/hooks/{hook_id}',
    fn: 'webhook',
    auth: false,
    load: () => import('../../functions/webhook.js'),
  },
  {
    method: 'GET',
    path: '/playbooks/{name}/versions',
    fn: 'playbooks',
    auth: true,
    load: () => import('../../functions/playbooks.js'),
  },
  {
    method: 'GET',
    path: '/playbooks/{name}/versions/{version}',
    fn: 'playbooks',
    auth: true,
    load: () => import('../../functions/playbooks.js'),
  },
  {
    method: 'POST',
    path: '/playbooks/{name}/versions/{version}/restore',
    fn: 'playbooks',
    auth: true,
    load: () => import('../../functions/playbooks.js'),
  },
  { method: 'GET', path: '/audit', fn: 'audit', auth: true, load: () => import('../../functions/audit.js') },
  {
    method: 'GET',
    path: '/analytics/top-playbooks',
    fn: 'analytics',
    auth: true,
    load: () => import('../../functions/analytics.js'),
  },
  {
    method: 'POST',
    path: '/runplaybook',
    fn: 'runPlaybook',
    auth: true,
    load: () => import('../../functions/run-playbook.js'),
  },
  {
    method: 'GET',
    path: '/executions',
    fn: 'executions',
    auth: true,
    load: () => import('../../functions/executions.js'),
  },
  {
    method: 'GET',
    path: '/executions/{peid}',
    fn: 'executions',
    auth: true,
    load: () => import('../../functions/executions.js'),
  },
  {
    method: 'GET',
    path: '/executions/{peid}/timeline',
    fn: 'executions',
    auth: true,
    load: () => import('../../functions/executions.js'),
  },
  {
    method: 'POST',
    path: '/executions/{peid}/redrive',
    fn: 'executions',
    auth: true,
    load: () => import('../../functions/executions.js'),
  },
  {
    method: 'POST',
    path: '/executions/{peid}/cancel',
    fn: 'executions',
    auth: true,
    load: () => import('../../functions/executions.js'),
  },
  {
    method: 'POST',
    path: '/executions/{peid}/rollback',
    fn: 'executions',
    auth: true,
    load: () => import('../../functions/executions.js'),
  },
  {
    method: 'GET',
    path: '/containments',
    fn: 'executions',
    auth: true,
    load: () => import('../../functions/executions.js'),
  },
  {
    method: 'GET',
    path: '/approvals',
    fn: 'approvals',
    auth: true,
    load: () => import('../../functions/approvals.js'),
  },
  {
    method: 'POST',
    path: '/executions/{peid}/tasks/{task_id}/respond',
    fn: 'approvals',
    auth: true,
    load: () => import('../../functions/approvals.js'),
  },
  // No JWT: the single-use token in the path is the credential.
  ...(['GET', 'POST'] as const).map((method) => ({
    method,
    path: '/callbacks/{token}',
    fn: 'callbacks',
    auth: false,
    load: () => import('../../functions/callbacks.js'),
  })),
];

export interface ApiResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** Bytes of the handler's whole answer as Lambda returns it (the body string escaped inside the envelope). */
  payloadBytes: number;
}

export interface ApiRequest {
  token?: string;
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  rawBody?: string;
  /** Sent base64-encoded with isBase64Encoded (as API Gateway passes a binary body). */
  base64Body?: Uint8Array;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

function match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const want = route.path.split('/');
    const got = path.split('/');
    if (want.length !== got.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    want.forEach((seg, i) => {
      const value = got[i] ?? '';
      if (seg.startsWith('{')) {
        if (value.length === 0) ok = false;
        else params[seg.slice(1, -1)] = decodeURIComponent(value);
      } else if (seg !== value) ok = false;
    });
    if (ok) return { route, params };
  }
  return undefined;
}

/** Sends one request through the emulated API Gateway. */
export async function api(method: string, path: string, req: ApiRequest = {}): Promise<ApiResponse> {
  const found = match(method, path);
  if (!found) return { status: 404, body: { message: 'Not Found' }, headers: {}, payloadBytes: 0 };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
  const query = req.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const routeKey = `${method} ${found.route.path}`;
  let authorizerContext: Record<string, unknown> | undefined;
  if (found.route.auth) {
    if (!headers.authorization) return { status: 401, body: { message: 'Unauthorized' }, headers: {}, payloadBytes: 0 };
    const { handler } = (await import('../../functions/authorizer.js')) as { handler: Handler };
    const authEvent: APIGatewayRequestAuthorizerEventV2 = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:us-east-1:000000000000:api/$default/${method}${path}`,
      identitySource: [headers.authorization],
      routeKey,
      rawPath: path,
      rawQueryString,
      cookies: [],
      headers,
      queryStringParameters: query,
      requestContext: requestContext(method, path),
      pathParameters: found.params,
      stageVariables: {},
    };
    const res = (await handler(authEvent as never, lambdaContext('authorizer'))) as {
      isAuthorized: boolean;
      context?: Record<string, unknown>;
    };
    if (!res.isAuthorized) return { status: 403, body: { message: 'Forbidden' }, headers: {}, payloadBytes: 0 };
    authorizerContext = res.context;
  }
  const event = {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString,
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(found.params).length > 0 ? { pathParameters: found.params } : {}),
    requestContext: {
      ...requestContext(method, path),
      ...(authorizerContext ? { authorizer: { lambda: authorizerContext } } : {}),
    },
    body:
      req.base64Body !== undefined
        ? Buffer.from(req.base64Body).toString('base64')
        : (req.rawBody ?? (req.body === undefined ? undefined : JSON.stringify(req.body))),
    isBase64Encoded: req.base64Body !== undefined,
  };
  const { handler } = (await found.route.load()) as { handler: Handler };
  const res = (await handler(event as never, lambdaContext(found.route.fn))) as {
    statusCode: number;
    body?: string;
    headers?: Record<string, string>;
  };
  const json = (res.headers?.['content-type'] ?? 'application/json').startsWith('application/json');
  return {
    status: res.statusCode,
    // A page (text/html) is returned as its text.
    body: res.body ? (json ? (JSON.parse(res.body) as unknown) : res.body) : undefined,
    headers: res.headers ?? {},
    payloadBytes: Buffer.byteLength(JSON.stringify(res), 'utf8'),
  };
}

function requestContext(method: string, path: string): APIGatewayRequestAuthorizerEventV2['requestContext'] {
  return {
    accountId: '000000000000',
    apiId: 'local',
    domainName: 'localhost',
    domainPrefix: 'localhost',
    http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
    requestId: crypto.randomUUID(),
    routeKey: `${method} ${path}`,
    stage: '$default',
    time: new Date().toISOString(),
    timeEpoch: Date.now(),
  };
}
