/** GET /executions/{peid}/timeline on a real run: critical path, overhead, SVG, tenants, bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Timeline } from '../../lib/domain/timeline.js';
import { api } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { lambdaContext } from '../support/lambda-context.js';

let h: Harness;
let peid: string;
let tl: Timeline;

beforeAll(async () => {
  h = await createHarness();
  h.poller({ maxConcurrency: 4 }).start();
  const http = (id: string, path: string, depends_on: string[]) => ({
    id,
    type: 'http',
    depends_on,
    config: { method: 'GET', url: `${h.stub.url}${path}` },
  });
  await h.createPlaybook({
    name: 'timeline-diamond',
    tasks: [
      { id: 'start', type: 'noop' },
      http('slow', '/delay/300', ['start']),
      http('fast', '/delay/20', ['start']),
      { id: 'join', type: 'noop', depends_on: ['slow', 'fast'] },
    ],
  });
  peid = await h.startRun('timeline-diamond');
  const e = await h.waitFinished(peid);
  expect(e.execution_status).toBe('completed');
  const res = await api('GET', `/executions/${peid}/timeline`, { token: h.tokenA });
  expect(res.status).toBe(200);
  tl = res.body as Timeline;
});
afterAll(async () => h.close());

/**
 * The API Gateway path for a response that is not JSON (test/support/api.ts parses
 * every body as JSON): the real authorizer, then the real executions handler.
 */
async function rawGet(
  path: string,
  token: string,
  opts: { query?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const routeKey = 'GET /executions/{peid}/timeline';
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...opts.headers };
  const query = opts.query ?? {};
  const id = path.split('/')[2] ?? '';
  const requestContext = {
    accountId: '000000000000',
    apiId: 'local',
    domainName: 'localhost',
    domainPrefix: 'localhost',
    http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
    requestId: crypto.randomUUID(),
    routeKey,
    stage: '$default',
    time: new Date().toISOString(),
    timeEpoch: Date.now(),
  };
  const auth = await import('../../functions/authorizer.js');
  const verdict = await auth.handler({
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:us-east-1:000000000000:api/$default/GET${path}`,
    identitySource: [headers.authorization ?? ''],
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    cookies: [],
    headers,
    queryStringParameters: query,
    requestContext,
    pathParameters: { peid: id },
    stageVariables: {},
  });
  if (!verdict.isAuthorized) return { status: 403, headers: {}, body: '' };
  const { handler } = await import('../../functions/executions.js');
  const event = {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    pathParameters: { peid: id },
    requestContext: { ...requestContext, authorizer: { lambda: verdict.context } },
    isBase64Encoded: false,
  };
  const res = (await handler(event as never, lambdaContext('executions'))) as {
    statusCode: number;
    headers?: Record<string, string>;
    body?: string;
  };
  return { status: res.statusCode, headers: res.headers ?? {}, body: res.body ?? '' };
}

describe('GET /executions/{peid}/timeline', () => {
  it('has the expected critical path through the slow branch', () => {
    expect(tl.peid).toBe(peid);
    expect(tl.execution_status).toBe('completed');
    expect(tl.critical_path).toEqual(['start', 'slow', 'join']);
    expect(tl.tasks.map((t) => [t.task_id, t.status, t.critical])).toEqual([
      ['start', 'succeeded', true],
      ['slow', 'succeeded', true],
      ['fast', 'succeeded', false],
      ['join', 'succeeded', true],
    ]);
    expect(tl.tasks.find((t) => t.task_id === 'join')?.depends_on).toEqual(['slow', 'fast']);
  });

  it('reports run time, critical-path task time and engine overhead consistently', async () => {
    const e = await h.execution(peid);
    expect(tl.run_ms).toBe(e.playbook_runtime);
    const slow = tl.tasks.find((t) => t.task_id === 'slow');
    expect(slow?.duration_ms).toBeGreaterThanOrEqual(300);
    const sum = tl.tasks.filter((t) => t.critical).reduce((s, t) => s + (t.duration_ms ?? 0), 0);
    expect(tl.critical_path_task_ms).toBe(sum);
    expect(tl.critical_path_task_ms).toBeGreaterThanOrEqual(300);
    expect(tl.engine_overhead_ms).toBe(tl.run_ms - tl.critical_path_task_ms);
    expect(tl.engine_overhead_ms).toBeGreaterThanOrEqual(0);
    expect(tl.engine_overhead_ms).toBeLessThan(tl.run_ms);
    for (const t of tl.tasks) {
      expect(t.offset_ms).toBe((t.started_at ?? Number.NaN) - (e as unknown as { createddate: number }).createddate);
      expect(t.offset_ms).toBeGreaterThanOrEqual(0);
      expect(t.finished_at).toBeGreaterThanOrEqual(t.started_at ?? Number.POSITIVE_INFINITY);
    }
  });

  it('answers ?format=json with the same document', async () => {
    const res = await api('GET', `/executions/${peid}/timeline`, { token: h.tokenA, query: { format: 'json' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect({ ...(res.body as Timeline), generated_at: 0 }).toEqual({ ...tl, generated_at: 0 });
  });

  it('answers ?format=svg with an SVG of the run', async () => {
    const res = await rawGet(`/executions/${peid}/timeline`, h.tokenA, { query: { format: 'svg' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml');
    expect(res.body.startsWith('<svg ')).toBe(true);
    expect(res.body.trimEnd().endsWith('</svg>')).toBe(true);
    for (const id of ['start', 'slow', 'fast', 'join']) expect(res.body).toContain(`data-task-id="${id}"`);
    expect(res.body).toContain('start → slow → join');
    expect(res.body).toContain('engine overhead:');
  });

  it('answers Accept: image/svg+xml with the SVG, and JSON when the query says so', async () => {
    const svg = await rawGet(`/executions/${peid}/timeline`, h.tokenA, { headers: { accept: 'image/svg+xml' } });
    expect(svg.status).toBe(200);
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.body).toContain('data-task-id="join"');
    const json = await rawGet(`/executions/${peid}/timeline`, h.tokenA, {
      headers: { accept: 'image/svg+xml' },
      query: { format: 'json' },
    });
    expect(json.headers['content-type']).toBe('application/json');
    expect((JSON.parse(json.body) as Timeline).critical_path).toEqual(['start', 'slow', 'join']);
  });

  it('answers 404 to another tenant, in both formats, exactly as for an unknown run', async () => {
    const other = await api('GET', `/executions/${peid}/timeline`, { token: h.tokenB });
    const unknown = await api('GET', `/executions/${crypto.randomUUID()}/timeline`, { token: h.tokenA });
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect((other.body as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((unknown.body as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const otherSvg = await rawGet(`/executions/${peid}/timeline`, h.tokenB, { query: { format: 'svg' } });
    expect(otherSvg.status).toBe(404);
    expect(otherSvg.headers['content-type']).toBe('application/json');
  });

  it('answers 400 naming the field for a bad query or a malformed peid', async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      [`/executions/${peid}/timeline`, { format: 'png' }, 'format'],
      [`/executions/${peid}/timeline`, { fromat: 'svg' }, '(root)'],
      ['/executions/not-a-uuid/timeline', {}, 'peid'],
    ];
    for (const [path, query, field] of cases) {
      const res = await api('GET', path, { token: h.tokenA, query });
      expect(res.status, `${path} ${JSON.stringify(query)}`).toBe(400);
      const err = (res.body as { error: { code: string; details: Array<{ path: string; message: string }> } }).error;
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(err.details)).toContain(field === '(root)' ? 'fromat' : field);
    }
  });

  it('needs a token', async () => {
    expect((await api('GET', `/executions/${peid}/timeline`)).status).toBe(401);
    expect((await api('GET', `/executions/${peid}/timeline`, { token: 'not-a-jwt' })).status).toBe(403);
  });

  it('shows a running run with its time so far', async () => {
    await h.createPlaybook({
      name: 'timeline-running',
      tasks: [
        { id: 'first', type: 'noop' },
        { id: 'wait', type: 'delay', depends_on: ['first'], config: { seconds: 30 } },
      ],
    });
    const running = await h.startRun('timeline-running');
    // Wait for `first` to finish so the path has something in it.
    const end = Date.now() + 15_000;
    let body: Timeline | undefined;
    while (Date.now() < end) {
      const res = await api('GET', `/executions/${running}/timeline`, { token: h.tokenA });
      body = res.body as Timeline;
      if (body.tasks.find((t) => t.task_id === 'first')?.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(body?.execution_status).toBe('running');
    expect(body?.critical_path[0]).toBe('first');
    expect(body?.run_ms).toBeGreaterThan(0);
    expect(body?.engine_overhead_ms).toBe((body?.run_ms ?? 0) - (body?.critical_path_task_ms ?? 0));
    const svg = await rawGet(`/executions/${running}/timeline`, h.tokenA, { query: { format: 'svg' } });
    expect(svg.body).toContain('(so far)');
    await api('POST', `/executions/${running}/cancel`, { token: h.tokenA });
  });
});
