/**
 * docs/openapi.yaml, serverless.yml and test/support/api.ts ROUTES describe the same HTTP API:
 * the same routes (method, path, function), the same authentication, and request schemas that
 * name the same fields as the zod schemas the handlers validate with.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { answerBodySchema } from '../../lib/domain/approval.js';
import { AUDIT_ACTIONS } from '../../lib/domain/audit.js';
import { HTTP_METHODS, playbookSchema, TASK_TYPES, taskSchema } from '../../lib/domain/playbook-schema.js';
import { TASK_STATUSES } from '../../lib/domain/statuses.js';
import { approvalListQuery } from '../../lib/http/approval-schemas.js';
import {
  auditListQuery,
  containmentListQuery,
  executionListQuery,
  playbookListQuery,
  playbookVersionsQuery,
  runPlaybookBody,
} from '../../lib/http/schemas.js';
import { timelineQuery } from '../../lib/http/timeline.js';
import { scheduleBody, webhookCreateBody } from '../../lib/http/trigger-schemas.js';
import { ROUTES } from '../support/api.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const HTTP_VERBS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

interface Schema {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  oneOf?: Schema[];
  discriminator?: { propertyName: string; mapping: Record<string, string> };
}
interface Parameter {
  $ref?: string;
  name: string;
  in: string;
}
interface Operation {
  operationId: string;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, unknown>;
}
type PathItem = Partial<Record<(typeof HTTP_VERBS)[number], Operation>> & { parameters?: Parameter[] };
interface OpenApi {
  openapi: string;
  security: unknown[];
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, Schema>; parameters: Record<string, Parameter> };
}
interface HttpApiEvent {
  httpApi?: { method: string; path: string; authorizer?: { name: string } };
}
interface ServerlessYml {
  functions: Record<string, { handler: string; events?: HttpApiEvent[] }>;
}

const openapi = parse(readFileSync(path.join(ROOT, 'docs', 'openapi.yaml'), 'utf8')) as OpenApi;
// `merge: true`: serverless.yml shares environment blocks with YAML merge keys (<<).
const sls = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { merge: true }) as ServerlessYml;

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

const slsRoutes = Object.entries(sls.functions).flatMap(([fn, def]) =>
  (def.events ?? []).flatMap((e) =>
    e.httpApi
      ? [{ method: e.httpApi.method.toUpperCase(), path: e.httpApi.path, fn, auth: e.httpApi.authorizer !== undefined }]
      : [],
  ),
);

const apiOperations = Object.entries(openapi.paths).flatMap(([p, item]) =>
  HTTP_VERBS.flatMap((verb) => {
    const op = item[verb];
    return op ? [{ method: verb.toUpperCase(), path: p, op, pathParams: item.parameters ?? [] }] : [];
  }),
);

function operation(method: string, p: string) {
  const found = apiOperations.find((o) => o.method === method && o.path === p);
  if (!found) throw new Error(`docs/openapi.yaml has no ${method} ${p}`);
  return found;
}

function resolveRef<T>(ref: string): T {
  const parts = ref.replace(/^#\//, '').split('/');
  let node: unknown = openapi;
  for (const part of parts) node = (node as Record<string, unknown>)[part];
  if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
  return node as T;
}

function schemaNamed(name: string): Schema {
  const s = openapi.components.schemas[name];
  if (!s) throw new Error(`docs/openapi.yaml has no schema ${name}`);
  return s;
}

const deref = (s: Schema): Schema => (s.$ref ? deref(resolveRef<Schema>(s.$ref)) : s);
const propertyNames = (s: Schema) => Object.keys(deref(s).properties ?? {}).sort();

/** The field names of a zod object schema (through optional/default wrappers). */
function zodKeys(schema: z.ZodType): string[] {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  if (!(s instanceof z.ZodObject)) throw new Error('not an object schema');
  return Object.keys(s.shape).sort();
}

/** Names of the query parameters of an operation. */
function queryParams(method: string, p: string): string[] {
  const { op, pathParams } = operation(method, p);
  return [...pathParams, ...(op.parameters ?? [])]
    .map((param) => (param.$ref ? resolveRef<Parameter>(param.$ref) : param))
    .filter((param) => param.in === 'query')
    .map((param) => param.name)
    .sort();
}

describe('routes', () => {
  it('serverless.yml declares exactly the routes of ROUTES, on the same functions', () => {
    const fromRoutes = ROUTES.map((r) => `${key(r)} -> ${r.fn}`).sort();
    const fromSls = slsRoutes.map((r) => `${key(r)} -> ${r.fn}`).sort();
    expect(fromSls).toEqual(fromRoutes);
  });

  it('docs/openapi.yaml documents exactly the routes of serverless.yml', () => {
    expect(apiOperations.map(key).sort()).toEqual(slsRoutes.map(key).sort());
  });

  it('authentication agrees: only GET /health, signed webhook deliveries and callback tokens are public, everywhere', () => {
    expect(openapi.security).toEqual([{ bearerAuth: [] }]);
    for (const route of ROUTES) {
      const sl = slsRoutes.find((r) => key(r) === key(route));
      const { op } = operation(route.method, route.path);
      const publicInApi = Array.isArray(op.security) && op.security.length === 0;
      expect({ route: key(route), sls: sl?.auth, api: !publicInApi }).toEqual({
        route: key(route),
        sls: route.auth,
        api: route.auth,
      });
      if (route.auth) {
        expect(Object.keys(op.responses), key(route)).toEqual(expect.arrayContaining(['401', '403']));
      }
    }
    expect(ROUTES.filter((r) => !r.auth).map(key)).toEqual([
      'GET /health',
      'POST /hooks/{hook_id}',
      'GET /callbacks/{token}',
      'POST /callbacks/{token}',
    ]);
  });

  it('every operation has a unique operationId and documents its path parameters', () => {
    const ids = apiOperations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path: p, op, pathParams } of apiOperations) {
      const declared = [...pathParams, ...(op.parameters ?? [])]
        .map((param) => (param.$ref ? resolveRef<Parameter>(param.$ref) : param))
        .filter((param) => param.in === 'path')
        .map((param) => param.name)
        .sort();
      const inPath = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      expect(declared, p).toEqual(inPath);
    }
  });

  it('routes that take input document 400, and bodies document 413', () => {
    for (const { method, path: p, op } of apiOperations) {
      if (op.requestBody) expect(Object.keys(op.responses), `${method} ${p}`).toEqual(expect.arrayContaining(['413']));
      // The contract: any callback token not valid now is a 404, never a 400 (tokens cannot be probed).
      if (method === 'GET' && p === '/callbacks/{token}') {
        expect(Object.keys(op.responses)).not.toContain('400');
        expect(Object.keys(op.responses)).toContain('404');
        continue;
      }
      if (op.requestBody || p.includes('{') || queryParams(method, p).length > 0) {
        expect(Object.keys(op.responses), `${method} ${p}`).toContain('400');
      }
    }
  });
});

describe('request schemas follow the zod schemas the handlers use', () => {
  it('a playbook has the same fields, and refuses unknown ones', () => {
    const def = schemaNamed('PlaybookDefinition');
    expect(def.additionalProperties).toBe(false);
    expect(propertyNames(def)).toEqual(zodKeys(playbookSchema));
    expect(propertyNames(schemaNamed('PlaybookReplacement'))).toEqual(zodKeys(playbookSchema));
    const body = operation('POST', '/playbooks').op.requestBody?.content['application/json']?.schema;
    expect(body?.$ref).toBe('#/components/schemas/PlaybookDefinition');
  });

  it('the task types, and each type with its fields and config fields', () => {
    const task = schemaNamed('Task');
    expect(Object.keys(task.discriminator?.mapping ?? {}).sort()).toEqual([...TASK_TYPES].sort());
    expect(task.oneOf?.length).toBe(TASK_TYPES.length);
    for (const variant of taskSchema.options) {
      const type = [...variant.shape.type.values][0] as string;
      const ref = task.discriminator?.mapping[type];
      expect(ref, `task type ${type}`).toBeDefined();
      const api = resolveRef<Schema>(ref ?? '');
      expect(api.additionalProperties, type).toBe(false);
      expect(api.properties?.type?.const, type).toBe(type);
      expect(propertyNames(api), `${type} task fields`).toEqual(zodKeys(variant));
      const config = api.properties?.config;
      expect(config, `${type} config`).toBeDefined();
      expect(deref(config ?? {}).additionalProperties, `${type} config`).toBe(false);
      expect(propertyNames(config ?? {}), `${type} config fields`).toEqual(zodKeys(variant.shape.config));
    }
    expect(propertyNames(schemaNamed('Retry'))).toEqual(zodKeys(taskSchema.options[0].shape.retry));
    expect(schemaNamed('HttpConfig').properties?.method?.enum).toEqual([...HTTP_METHODS]);
  });

  it('the run request', () => {
    expect(schemaNamed('RunRequest').additionalProperties).toBe(false);
    expect(propertyNames(schemaNamed('RunRequest'))).toEqual(zodKeys(runPlaybookBody));
  });

  it('the webhook and schedule requests', () => {
    expect(schemaNamed('WebhookRequest').additionalProperties).toBe(false);
    expect(propertyNames(schemaNamed('WebhookRequest'))).toEqual(zodKeys(webhookCreateBody));
    expect(schemaNamed('ScheduleRequest').additionalProperties).toBe(false);
    expect(propertyNames(schemaNamed('ScheduleRequest'))).toEqual(zodKeys(scheduleBody));
    expect(
      operation('POST', '/playbooks/{name}/webhooks').op.requestBody?.content['application/json']?.schema.$ref,
    ).toBe('#/components/schemas/WebhookRequest');
    expect(
      operation('PUT', '/playbooks/{name}/schedule').op.requestBody?.content['application/json']?.schema.$ref,
    ).toBe('#/components/schemas/ScheduleRequest');
    const delivery = operation('POST', '/hooks/{hook_id}').op;
    expect(Object.keys(delivery.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '409', '413', '429']));
    const headers = (delivery.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
    expect(headers.sort()).toEqual(['X-Playbook-Delivery', 'X-Playbook-Signature', 'X-Playbook-Timestamp']);
  });

  it('the query parameters of the list and timeline routes', () => {
    expect(queryParams('GET', '/executions')).toEqual(zodKeys(executionListQuery));
    expect(queryParams('GET', '/playbooks')).toEqual(zodKeys(playbookListQuery));
    expect(queryParams('GET', '/executions/{peid}/timeline')).toEqual(zodKeys(timelineQuery));
    expect(queryParams('GET', '/playbooks/{name}/versions')).toEqual(zodKeys(playbookVersionsQuery));
    expect(queryParams('GET', '/audit')).toEqual(zodKeys(auditListQuery));
    expect(queryParams('GET', '/approvals')).toEqual(zodKeys(approvalListQuery));
    expect(queryParams('GET', '/containments')).toEqual(zodKeys(containmentListQuery));
  });

  it('the answer to an approval has the fields the handlers accept, and nothing else', () => {
    expect(schemaNamed('ApprovalAnswerRequest').additionalProperties).toBe(false);
    expect(propertyNames(schemaNamed('ApprovalAnswerRequest'))).toEqual(zodKeys(answerBodySchema));
    for (const [method, p] of [
      ['POST', '/executions/{peid}/tasks/{task_id}/respond'],
      ['POST', '/callbacks/{token}'],
    ] as const) {
      expect(operation(method, p).op.requestBody?.content['application/json']?.schema.$ref).toBe(
        '#/components/schemas/ApprovalAnswerRequest',
      );
    }
    expect(Object.keys(operation('POST', '/executions/{peid}/tasks/{task_id}/respond').op.responses)).toEqual(
      expect.arrayContaining(['200', '400', '403', '404', '409']),
    );
    expect(Object.keys(operation('POST', '/callbacks/{token}').op.responses)).toEqual(
      expect.arrayContaining(['200', '400', '404']),
    );
    expect(Object.keys(operation('POST', '/callbacks/{token}').op.responses)).not.toContain('401');
    expect(schemaNamed('ApprovalList').required).toEqual(['items', 'next']);
    expect(schemaNamed('ApprovalItem').required?.sort()).toEqual([
      'approvers',
      'choices',
      'created_at',
      'expires_at',
      'peid',
      'playbook_name',
      'prompt',
      'task_id',
    ]);
    expect(schemaNamed('TaskStatus').enum).toEqual([...TASK_STATUSES]);
  });

  it('the audit actions are the ones the log knows', () => {
    expect(schemaNamed('AuditAction').enum).toEqual([...AUDIT_ACTIONS]);
  });
});

describe('documented responses', () => {
  it('cancel answers 202 { peid, execution_status } and 409 for a finished run', () => {
    const { op } = operation('POST', '/executions/{peid}/cancel');
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '404', '409']));
    expect(propertyNames(schemaNamed('CancelAccepted'))).toEqual(['execution_status', 'peid']);
  });

  it('runplaybook answers 202, and 422 for an inactive playbook', () => {
    const { op } = operation('POST', '/runplaybook');
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '404', '409', '413', '422']));
  });

  it('the execution list pages with `next`', () => {
    expect(schemaNamed('ExecutionList').required).toEqual(['items', 'next']);
  });

  it('the version list and the audit log page with `next`; an audit entry has the contract fields', () => {
    expect(schemaNamed('PlaybookVersionList').required).toEqual(['items', 'next']);
    expect(schemaNamed('AuditList').required).toEqual(['items', 'next']);
    expect(schemaNamed('AuditEntry').required).toEqual(
      expect.arrayContaining(['at', 'actor', 'action', 'target', 'details']),
    );
  });

  it('restore answers 200, 409 for a concurrent change and 422 for a version that no longer validates', () => {
    const { op } = operation('POST', '/playbooks/{name}/versions/{version}/restore');
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '404', '409', '422']));
  });

  it('the error body is { error: { code, message, details? } }', () => {
    const error = schemaNamed('Error');
    expect(error.required).toEqual(['error']);
    expect(error.properties?.error?.required).toEqual(['code', 'message']);
    expect(Object.keys(error.properties?.error?.properties ?? {}).sort()).toEqual(['code', 'details', 'message']);
  });
});
