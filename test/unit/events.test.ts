/**
 * events/: real-shaped AWS events per function and scenario, for invoking one function
 * (through `npm start`'s lambda port, docs/local.md). Each file matches the
 * AWS shape of its function's trigger (zod schemas below), agrees with serverless.yml and ROUTES,
 * and is what its name says: `<fn>.json` / `<fn>.<scenario>.json` is accepted by the handler's own
 * input schemas, `<fn>.<scenario>.invalid.json` is refused by them (a 400 from the handler).
 * No network: only the authorizer and health handlers, which touch no server, are invoked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { answerBodySchema } from '../../lib/domain/approval.js';
import { parsePlaybook } from '../../lib/domain/playbook-validation.js';
import { parseTaskMessage } from '../../lib/engine/task-messages.js';
import { approvalListQuery, callbackTokenParam, taskIdParam } from '../../lib/http/approval-schemas.js';
import {
  auditListQuery,
  containmentListQuery,
  executionListQuery,
  idempotencyKeyHeader,
  peidParam,
  playbookListQuery,
  playbookNameParam,
  playbookVersionParam,
  playbookVersionsQuery,
  runPlaybookBody,
} from '../../lib/http/schemas.js';
import { timelineQuery } from '../../lib/http/timeline.js';
import { hookIdParam, scheduleBody, webhookCreateBody } from '../../lib/http/trigger-schemas.js';
import { ROUTES, type Route } from '../support/api.js';
import { lambdaContext } from '../support/lambda-context.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const EVENTS = path.join(ROOT, 'events');

// ------------------------------------------------------------------------ AWS event shapes

const accountId = z.string().regex(/^\d{12}$/);
const stringMap = z.record(z.string(), z.string());

const httpContext = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']),
  path: z.string().startsWith('/'),
  protocol: z.string(),
  sourceIp: z.string(),
  userAgent: z.string(),
});

const requestContextShape = {
  accountId,
  apiId: z.string().min(1),
  domainName: z.string().min(1),
  domainPrefix: z.string().min(1),
  http: httpContext,
  requestId: z.string().min(1),
  routeKey: z.string(),
  stage: z.string(),
  time: z.string(),
  timeEpoch: z.int().positive(),
};

/** API Gateway HTTP API, payload 2.0, with a Lambda authorizer's context. */
const apiGatewayV2Event = z.strictObject({
  version: z.literal('2.0'),
  routeKey: z.string().regex(/^[A-Z]+ \//),
  rawPath: z.string().startsWith('/'),
  rawQueryString: z.string(),
  cookies: z.array(z.string()).optional(),
  headers: stringMap,
  queryStringParameters: stringMap.optional(),
  pathParameters: stringMap.optional(),
  stageVariables: stringMap.optional(),
  requestContext: z.strictObject({
    ...requestContextShape,
    authorizer: z.strictObject({ lambda: z.record(z.string(), z.unknown()) }).optional(),
  }),
  body: z.string().optional(),
  isBase64Encoded: z.boolean(),
});

/** The Lambda REQUEST authorizer event of an HTTP API (payload 2.0). */
const authorizerEvent = z.strictObject({
  version: z.literal('2.0'),
  type: z.literal('REQUEST'),
  routeArn: z.string().regex(/^arn:aws:execute-api:[a-z0-9-]+:\d{12}:[^/]+\/[^/]+\/[A-Z]+\/.*/),
  identitySource: z.array(z.string()).min(1),
  routeKey: z.string(),
  rawPath: z.string().startsWith('/'),
  rawQueryString: z.string(),
  cookies: z.array(z.string()).optional(),
  headers: stringMap,
  queryStringParameters: stringMap.optional(),
  pathParameters: stringMap.optional(),
  stageVariables: stringMap.optional(),
  requestContext: z.strictObject(requestContextShape),
});

const sqsArn = z.string().regex(/^arn:aws:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/);

const sqsEvent = z.strictObject({
  Records: z
    .array(
      z.strictObject({
        messageId: z.string().min(1),
        receiptHandle: z.string().min(1),
        body: z.string(),
        attributes: z.looseObject({
          ApproximateReceiveCount: z.string().regex(/^\d+$/),
          SentTimestamp: z.string().regex(/^\d+$/),
          SenderId: z.string(),
          ApproximateFirstReceiveTimestamp: z.string().regex(/^\d+$/),
        }),
        messageAttributes: z.record(z.string(), z.unknown()),
        md5OfBody: z.string().regex(/^[0-9a-f]{32}$/),
        eventSource: z.literal('aws:sqs'),
        eventSourceARN: sqsArn,
        awsRegion: z.string().min(1),
      }),
    )
    .min(1)
    .max(10),
});

/** An EventBridge scheduled event (the `schedule` trigger). */
const scheduledEvent = z.strictObject({
  version: z.literal('0'),
  id: z.uuid(),
  'detail-type': z.literal('Scheduled Event'),
  source: z.literal('aws.events'),
  account: accountId,
  time: z.iso.datetime(),
  region: z.string().min(1),
  resources: z.array(z.string().regex(/^arn:aws:events:[a-z0-9-]+:\d{12}:rule\/.+/)).min(1),
  detail: z.strictObject({}),
});

// ------------------------------------------------------------------------ serverless.yml

interface FunctionDef {
  handler: string;
  events?: Array<{ httpApi?: unknown; sqs?: { arn: { 'Fn::GetAtt': [string, string] } }; schedule?: unknown }>;
}
interface ServerlessYml {
  provider: { httpApi: { authorizers: Record<string, { functionName: string }> } };
  functions: Record<string, FunctionDef>;
  resources: { Resources: Record<string, { Properties?: { QueueName?: string } }> };
}
const sls = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { merge: true }) as ServerlessYml;
const authorizerFunctions = new Set(Object.values(sls.provider.httpApi.authorizers).map((a) => a.functionName));

type Kind = 'http' | 'authorizer' | 'sqs' | 'schedule';
function kindOf(fn: string): Kind {
  const def = sls.functions[fn];
  if (!def) throw new Error(`no function ${fn} in serverless.yml`);
  if (authorizerFunctions.has(fn)) return 'authorizer';
  const events = def.events ?? [];
  if (events.some((e) => e.httpApi)) return 'http';
  if (events.some((e) => e.sqs)) return 'sqs';
  if (events.some((e) => e.schedule)) return 'schedule';
  throw new Error(`function ${fn} has no trigger this test knows`);
}

/** The queue name a stage-local SQS event of `fn` comes from. */
function localQueueName(fn: string): string {
  const logicalId = sls.functions[fn]?.events?.find((e) => e.sqs)?.sqs?.arn['Fn::GetAtt'][0] ?? '';
  const name = sls.resources.Resources[logicalId]?.Properties?.QueueName ?? '';
  return name.replace(/\$\{sls:stage\}/, 'local');
}

// ------------------------------------------------------------------------ the files

interface EventFile {
  file: string;
  fn: string;
  invalid: boolean;
  json: unknown;
}

const files: EventFile[] = readdirSync(EVENTS)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => {
    const parts = file.replace(/\.json$/, '').split('.');
    return {
      file,
      fn: parts[0] ?? '',
      invalid: parts.at(-1) === 'invalid' && parts.length > 1,
      json: JSON.parse(readFileSync(path.join(EVENTS, file), 'utf8')) as unknown,
    };
  });

const ofKind = (kind: Kind) => files.filter((f) => kindOf(f.fn) === kind);
const payload = (name: string) => JSON.parse(readFileSync(path.join(EVENTS, 'payloads', name), 'utf8')) as unknown;

function matchRoute(routeKey: string, rawPath: string): { route: Route; params: Record<string, string> } | undefined {
  const route = ROUTES.find((r) => `${r.method} ${r.path}` === routeKey);
  if (!route) return undefined;
  const want = route.path.split('/');
  const got = rawPath.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, seg] of want.entries()) {
    const value = got[i] ?? '';
    if (seg.startsWith('{')) params[seg.slice(1, -1)] = decodeURIComponent(value);
    else if (seg !== value) return undefined;
  }
  return { route, params };
}

const queryByRoute: Record<string, z.ZodType> = {
  'GET /executions': executionListQuery,
  'GET /playbooks': playbookListQuery,
  'GET /executions/{peid}/timeline': timelineQuery,
  'GET /playbooks/{name}/versions': playbookVersionsQuery,
  'GET /audit': auditListQuery,
  'GET /approvals': approvalListQuery,
  'GET /containments': containmentListQuery,
};
const paramByName: Record<string, z.ZodType> = {
  name: playbookNameParam,
  peid: peidParam,
  version: playbookVersionParam,
  hook_id: hookIdParam,
  task_id: taskIdParam,
  token: callbackTokenParam,
};

/** A webhook delivery's headers (any value is answered, a bad one with the same 401; these are the well-formed ones). */
const deliveryHeaders = z.looseObject({
  'x-playbook-timestamp': z.string().regex(/^\d{1,12}$/),
  'x-playbook-signature': z.string().regex(/^sha256=[0-9a-f]{64}$/),
  'x-playbook-delivery': z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/)
    .optional(),
});

/** What the handler's own input schemas say about an HTTP event: empty when it is acceptable. */
function inputProblems(ev: z.output<typeof apiGatewayV2Event>, route: Route): string[] {
  const problems: string[] = [];
  const check = (what: string, schema: z.ZodType, value: unknown) => {
    const r = schema.safeParse(value);
    if (!r.success) problems.push(`${what}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  };
  for (const [name, value] of Object.entries(ev.pathParameters ?? {})) {
    const schema = paramByName[name];
    if (!schema) problems.push(`path parameter ${name} has no known schema`);
    else check(`path ${name}`, schema, { [name]: value });
  }
  const routeKey = `${route.method} ${route.path}`;
  const querySchema = queryByRoute[routeKey];
  if (querySchema) check('query', querySchema, ev.queryStringParameters ?? {});
  else if (ev.queryStringParameters) problems.push('query on a route without query parameters');
  let body: unknown;
  const form = (ev.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
  if (ev.body !== undefined) {
    const text = ev.isBase64Encoded ? Buffer.from(ev.body, 'base64').toString('utf8') : ev.body;
    try {
      // The approval page posts a form; every other body is JSON.
      body = form ? Object.fromEntries(new URLSearchParams(text)) : JSON.parse(text);
    } catch {
      problems.push('body is not JSON');
    }
  }
  if (routeKey === 'POST /playbooks' || routeKey === 'PUT /playbooks/{name}') {
    const named =
      routeKey.startsWith('PUT') && body && typeof body === 'object'
        ? { name: ev.pathParameters?.name, ...body }
        : body;
    try {
      parsePlaybook(named);
    } catch (err) {
      problems.push(`playbook: ${(err as Error).message}`);
    }
    if (routeKey.startsWith('PUT') && (named as { name?: unknown })?.name !== ev.pathParameters?.name) {
      problems.push('body names another playbook than the path');
    }
  } else if (routeKey === 'POST /runplaybook') {
    check('body', runPlaybookBody, body);
    const key = ev.headers['idempotency-key'];
    if (key !== undefined) check('Idempotency-Key', idempotencyKeyHeader, key);
  } else if (routeKey === 'POST /playbooks/{name}/webhooks') {
    if (ev.body !== undefined) check('body', webhookCreateBody, body);
  } else if (routeKey === 'PUT /playbooks/{name}/schedule') {
    check('body', scheduleBody, body);
  } else if (routeKey === 'POST /hooks/{hook_id}') {
    check('delivery headers', deliveryHeaders, ev.headers);
  } else if (routeKey === 'POST /executions/{peid}/tasks/{task_id}/respond' || routeKey === 'POST /callbacks/{token}') {
    check('body', answerBodySchema, body);
  } else if (ev.body !== undefined && ev.body.length > 0) {
    problems.push('body on a route that takes none');
  }
  if (route.auth && !ev.requestContext.authorizer?.lambda) problems.push('no authorizer context (401)');
  return problems;
}

// ------------------------------------------------------------------------ tests

describe('events/', () => {
  it('every file is named after a function of serverless.yml and has its trigger shape', () => {
    expect(files.length).toBeGreaterThan(0);
    const schemas: Record<Kind, z.ZodType> = {
      http: apiGatewayV2Event,
      authorizer: authorizerEvent,
      sqs: sqsEvent,
      schedule: scheduledEvent,
    };
    for (const f of files) {
      const result = schemas[kindOf(f.fn)].safeParse(f.json);
      expect(result.success ? [] : result.error.issues, f.file).toEqual([]);
    }
  });

  it('every function has an event; every route has a valid and a bad-input event', () => {
    for (const fn of Object.keys(sls.functions)) {
      expect(
        files.some((f) => f.fn === fn),
        `events/${fn}*.json`,
      ).toBe(true);
    }
    const http = ofKind('http').map((f) => {
      const ev = f.json as z.output<typeof apiGatewayV2Event>;
      return { ...f, routeKey: ev.routeKey };
    });
    for (const route of ROUTES) {
      const routeKey = `${route.method} ${route.path}`;
      expect(
        http.some((f) => f.routeKey === routeKey && !f.invalid),
        `valid event for ${routeKey}`,
      ).toBe(true);
      if (route.auth) {
        expect(
          http.some((f) => f.routeKey === routeKey && f.invalid),
          `bad-input event for ${routeKey}`,
        ).toBe(true);
      }
    }
  });

  it('HTTP events agree with their route (function, path, parameters, query, authorizer context)', () => {
    for (const f of ofKind('http')) {
      const ev = apiGatewayV2Event.parse(f.json);
      const found = matchRoute(ev.routeKey, ev.rawPath);
      expect(found, `${f.file}: ${ev.routeKey} ${ev.rawPath}`).toBeDefined();
      if (!found) continue;
      expect(found.route.fn, f.file).toBe(f.fn);
      expect(ev.requestContext.routeKey, f.file).toBe(ev.routeKey);
      expect(`${ev.requestContext.http.method} ${ev.requestContext.http.path}`, f.file).toBe(
        `${found.route.method} ${ev.rawPath}`,
      );
      expect(ev.pathParameters ?? {}, f.file).toEqual(found.params);
      expect(ev.queryStringParameters ?? {}, f.file).toEqual(
        Object.fromEntries(new URLSearchParams(ev.rawQueryString)),
      );
      if (found.route.auth && !f.invalid) {
        expect(ev.requestContext.authorizer?.lambda, f.file).toEqual({ tenant_code: 'acme', sub: 'analyst1' });
        expect(ev.headers.authorization, f.file).toMatch(/^Bearer /);
      }
      if (!found.route.auth) expect(ev.requestContext.authorizer, f.file).toBeUndefined();
    }
  });

  it('valid HTTP events pass the handlers own input schemas; bad-input events do not', () => {
    for (const f of ofKind('http')) {
      const ev = apiGatewayV2Event.parse(f.json);
      const found = matchRoute(ev.routeKey, ev.rawPath);
      if (!found) continue;
      const problems = inputProblems(ev, found.route);
      if (f.invalid) expect(problems.length, `${f.file} should be refused`).toBeGreaterThan(0);
      else expect(problems, f.file).toEqual([]);
    }
  });

  it('the sample request bodies (used by npm start and the curl examples) are valid and agree', () => {
    const playbook = parsePlaybook(payload('playbook.json'));
    const run = runPlaybookBody.parse(payload('run.json'));
    expect(run.playbook_name).toBe(playbook.name);
    const create = apiGatewayV2Event.parse(files.find((f) => f.file === 'playbooks.create.json')?.json);
    expect(JSON.parse(create.body ?? 'null')).toEqual(payload('playbook.json'));
    const start = apiGatewayV2Event.parse(files.find((f) => f.file === 'runPlaybook.json')?.json);
    expect(JSON.parse(start.body ?? 'null')).toEqual(payload('run.json'));
  });

  it('SQS events carry task references from the queue of their function', () => {
    for (const f of ofKind('sqs')) {
      const ev = sqsEvent.parse(f.json);
      for (const record of ev.Records) {
        expect(record.eventSourceARN.split(':').at(-1), f.file).toBe(localQueueName(f.fn));
        const message = parseTaskMessage(record.body);
        if (f.file.includes('.poison')) expect(message, f.file).toBeUndefined();
        else expect(message, f.file).toMatchObject({ v: 1, tenant_code: 'acme' });
      }
    }
    expect(files.some((f) => f.file === 'executeTask.poison.json')).toBe(true);
  });
});

describe('events/ through the handlers that touch no server', () => {
  it('the authorizer accepts authorizer.json and refuses authorizer.bad-token.json', async () => {
    Object.assign(process.env, {
      AUTH_JWT_SECRET: 'local-dev-secret',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
    });
    const { handler } = await import('../../functions/authorizer.js');
    const event = (name: string) =>
      authorizerEvent.parse(files.find((f) => f.file === name)?.json) as APIGatewayRequestAuthorizerEventV2;
    await expect(handler(event('authorizer.json'))).resolves.toEqual({
      isAuthorized: true,
      context: { tenant_code: 'acme', sub: 'analyst1' },
    });
    await expect(handler(event('authorizer.bad-token.json'))).resolves.toEqual({ isAuthorized: false });
  });

  it('health answers events/health.json with 200 { status: ok }', async () => {
    const { handler } = await import('../../functions/health.js');
    const ev = apiGatewayV2Event.parse(files.find((f) => f.file === 'health.json')?.json);
    const res = await handler(ev as never, lambdaContext('health'));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });
});
