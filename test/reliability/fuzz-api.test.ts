/**
 * Property-based fuzzing (fast-check) of every route's body, path and query through the
 * in-process API Gateway (authorizer + real handlers + real MongoDB): random JSON, wrong
 * types, huge strings and numbers, deep nesting (65 to 20,000 levels of arrays, objects or both,
 * in every field of a playbook, in a sub-playbook's alert, in a run's alert), unicode, `__proto__` / `constructor` keys,
 * MongoDB operators where scalars are expected, invalid JSONata, dependency cycles,
 * 10,000-task playbooks. Invalid input always gets a 4xx with the contract's error body
 * (never a 5xx, never a crash) and stores nothing. The number of cases is printed and
 * recorded in docs/reliability.md.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { parseAnswer } from '../../lib/domain/approval.js';
import { signWebhook } from '../../lib/domain/webhook-signature.js';
import { type ApiRequest, type ApiResponse, api, ROUTES } from '../support/api.js';
import { createHarness, type Harness } from '../support/harness.js';
import { approvalRun } from '../support/waits.js';
import { directDb } from './support/fixtures.js';

const SEED = Number(process.env.RELIABILITY_SEED ?? 20_251_127);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

let h: Harness;
let direct: Awaited<ReturnType<typeof directDb>>;
let cases = 0;
const perRoute = new Map<string, number>();

const TARGET = 'fuzz-target';
const EXISTING_PEID = { value: '' };
const EXISTING_HOOK = { value: '', secret: '' };

function validPlaybook(name = TARGET): Record<string, unknown> {
  return {
    name,
    description: 'fuzzing target',
    category_id: 'phishing',
    status: 'active',
    tasks: [
      {
        id: 'lookup',
        type: 'http',
        config: { method: 'GET', url: 'https://intel.example/ip/{{ alert.src_ip }}', headers: { accept: 'json' } },
        retry: { max_attempts: 2, backoff_ms: 100, max_backoff_ms: 1000 },
        timeout_ms: 5000,
      },
      {
        id: 'score',
        type: 'transform',
        depends_on: ['lookup'],
        run_if: 'tasks.lookup.status = "succeeded"',
        config: { expression: 'tasks.lookup.output.body.score' },
      },
      { id: 'done', type: 'noop', depends_on: ['score'], join: 'any', on_failure: 'continue' },
    ],
  };
}

beforeAll(async () => {
  h = await createHarness();
  direct = await directDb();
  await h.createPlaybook(validPlaybook());
  EXISTING_PEID.value = await h.startRun(TARGET, { src_ip: '203.0.113.1' });
  const hook = await api('POST', `/playbooks/${TARGET}/webhooks`, { token: h.tokenA, body: { alert_id: '{{ id }}' } });
  const created = hook.body as { hook_id: string; secret: string };
  EXISTING_HOOK.value = created.hook_id;
  EXISTING_HOOK.secret = created.secret;
  const schedule = await api('PUT', `/playbooks/${TARGET}/schedule`, { token: h.tokenA, body: { cron: '0 0 1 1 *' } });
  if (hook.status !== 201 || schedule.status !== 200) throw new Error('fuzz fixtures: hook or schedule not created');
});
afterAll(async () => {
  console.log(
    `[fuzz] ${cases} requests across ${perRoute.size} routes (seed ${SEED}): ${JSON.stringify(Object.fromEntries(perRoute))}`,
  );
  await h.close();
  await direct.close();
});

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** A MongoDB query operator object, offered where a scalar is expected. */
const mongoOperator = fc.constantFrom<unknown>(
  { $ne: null },
  { $gt: '' },
  { $where: 'sleep(5000) || true' },
  { $regex: '.*' },
  { $in: ['a', 'b'] },
  { $exists: true },
  { $expr: { $eq: [1, 1] } },
);

/** Numbers that break integer/range schemas. */
const hugeNumber = fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -1, 0.5, -0, 1e21, Number.MAX_SAFE_INTEGER);

const unicodeString = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  fc.constantFrom('😀', 'Ω≈ç√', '\u202Eevil', 'a\u0000b', '\uD800', 'ｆｕｌｌ', 'İstanbul', '\n\t'),
);

/** A value of any type but string. */
const notAString = fc.oneof(
  fc.integer(),
  hugeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  mongoOperator,
);

const hugeString = (min: number) =>
  fc.tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.integer({ min, max: min * 2 })).map(([s, n]) => s.repeat(n));

const invalidJsonata = fc.constantFrom(
  '(((',
  'tasks.a.output +',
  '$$ $',
  '"unterminated',
  '{ "a": }',
  'function($x) { $x',
  ')',
  '[1, 2',
  '$lookup(',
  '/* open comment',
);

/** A string that does not match [a-z0-9-]{1,64} (playbook names) or [a-z0-9_]{1,64} (ids). */
const badName = fc.oneof(
  fc.constant(''),
  unicodeString.filter((s) => !/^[a-z0-9_-]{1,64}$/.test(s)),
  fc.string({ minLength: 65, maxLength: 200 }).map((s) => `a${s.replace(/[^a-z]/g, 'b')}`),
  fc.constantFrom('UPPER', 'with space', 'dot.name', '../etc/passwd', '$ne', 'a/b', "'; drop table --"),
);

/** Defines `key` as an own enumerable property, so "__proto__" is data and survives JSON.stringify. */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

type Path = (string | number)[];

function setAt(root: Record<string, unknown>, path: Path, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (typeof last === 'number') node[last] = value;
  else setKey(node as Record<string, unknown>, last, value);
}

/**
 * JSON nested 65 to 20,000 levels (beyond every limit: 32 inside playbooks, 64 for alerts; at most
 * ~200 KB of text), as arrays, objects or both, written as text (JSON.stringify of such a value
 * would overflow).
 */
const deepJsonText: fc.Arbitrary<string> = fc
  .record({
    depth: fc.integer({ min: 65, max: 20_000 }),
    shape: fc.constantFrom('array', 'object', 'mixed'),
    key: fc.string({ maxLength: 8 }),
    leaf: fc.jsonValue({ maxDepth: 1 }),
  })
  .map(({ depth, shape, key, leaf }) => {
    const k = JSON.stringify(key);
    // Under the 256 KiB body limit (a bigger body is a 413 before any parsing).
    const levels = Math.min(depth, Math.floor(200_000 / (k.length + 3)));
    let open = '';
    let close = '';
    for (let i = 0; i < levels; i += 1) {
      const asObject = shape === 'object' || (shape === 'mixed' && i % 2 === 0);
      open += asObject ? `{${k}:` : '[';
      close = (asObject ? '}' : ']') + close;
    }
    return `${open}${JSON.stringify(leaf) ?? 'null'}${close}`;
  });

/** `body` as JSON text with the string "__DEEP__" replaced by `deep`. */
function withDeep(body: unknown, deep: string): string {
  // A replacer function: `deep` may contain `$'` and other replacement patterns.
  return JSON.stringify(body).replace('"__DEEP__"', () => deep);
}

/** Where a deep value goes in a playbook body (free-form JSON fields, typed fields, unknown keys). */
const deepPlaybookSlots: Path[] = [
  ['tasks', 0, 'config', 'body'],
  ['tasks', 0, 'config', 'headers'],
  ['tasks', 0, 'config', 'url'],
  ['tasks', 0, 'x_unknown'],
  ['tasks', 1, 'config', 'expression'],
  ['tasks', 1, 'run_if'],
  ['tasks', 1],
  ['description'],
  ['name'],
  ['x_unknown'],
  ['tasks'],
];

/** A playbook with a deeply nested value somewhere, or a sub-playbook task whose alert is deep. */
const deepPlaybookBody: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...deepPlaybookSlots), deepJsonText).map(([path, deep]) => {
    const body = validPlaybook();
    setAt(body, path, '__DEEP__');
    return withDeep(body, deep);
  }),
  deepJsonText.map((deep) =>
    withDeep(
      {
        name: 'deep-sub',
        tasks: [{ id: 'sub', type: 'playbook', config: { name: TARGET, alert: { a: '__DEEP__' } } }],
      },
      deep,
    ),
  ),
  deepJsonText,
);

/** Invalid-by-construction replacement values per field of a playbook. */
const playbookMutations: Array<[Path, fc.Arbitrary<unknown>]> = [
  [['name'], fc.oneof(badName, notAString)],
  [['description'], fc.oneof(notAString, hugeString(2001))],
  [
    ['status'],
    fc.oneof(
      notAString,
      unicodeString.filter((s) => s !== 'active' && s !== 'inactive'),
    ),
  ],
  [['category_id'], fc.oneof(notAString, fc.constant(''), hugeString(65))],
  [['tasks'], fc.oneof(fc.constant([]), fc.constant(null), fc.string(), fc.integer(), mongoOperator)],
  [
    ['tasks', 0],
    fc.oneof(
      notAString.filter((v) => typeof v !== 'object' || v === null),
      fc.string(),
    ),
  ],
  [['tasks', 0, 'id'], fc.oneof(badName, notAString, fc.constantFrom('__proto__', 'constructor', 'prototype'))],
  [['tasks', 0, 'type'], fc.oneof(notAString, fc.constantFrom('shell', 'HTTP', 'exec', ''))],
  [
    ['tasks', 0, 'config'],
    fc.oneof(
      notAString.filter((v) => !isPlainObj(v)),
      fc.constant({}),
    ),
  ],
  [['tasks', 0, 'config', 'method'], fc.oneof(notAString, fc.constantFrom('get', 'TRACE', 'CONNECT', ''))],
  [
    ['tasks', 0, 'config', 'url'],
    fc.oneof(
      notAString,
      fc.constant(''),
      hugeString(2049),
      fc.constantFrom('{{ ) }}', 'https://x/{{ unclosed', '}} stray'),
    ),
  ],
  [
    ['tasks', 0, 'config', 'headers'],
    fc.oneof(fc.string(), fc.integer(), fc.constant({ a: 1 }), fc.constant({ a: { $ne: 1 } })),
  ],
  [['tasks', 0, 'retry'], fc.oneof(fc.string(), fc.constant({ max_attempts: 0 }), fc.constant({ max_attempts: 11 }))],
  [['tasks', 0, 'retry', 'max_attempts'], fc.oneof(notAString, hugeNumber, fc.constantFrom(0, 11, 1.5, '3'))],
  [
    ['tasks', 0, 'timeout_ms'],
    fc.oneof(
      fc.string(),
      hugeNumber.filter((n) => !(Number.isInteger(n) && n >= 1 && n <= 900_000)),
      fc.constant(0),
    ),
  ],
  [['tasks', 0, 'join'], fc.oneof(notAString, fc.constantFrom('ALL', 'some', ''))],
  [['tasks', 0, 'on_failure'], fc.oneof(notAString, fc.constantFrom('ignore', ''))],
  [
    ['tasks', 1, 'depends_on'],
    fc.oneof(fc.string(), fc.constant(['nope']), fc.constant(['score']), fc.constant([{ $ne: null }])),
  ],
  [['tasks', 1, 'run_if'], fc.oneof(notAString, fc.constant(''), invalidJsonata, hugeString(4097))],
  [['tasks', 1, 'config', 'expression'], fc.oneof(notAString, fc.constant(''), invalidJsonata, hugeString(16_385))],
  [['tasks', 2, 'id'], fc.constant('lookup')], // duplicate id
];

function isPlainObj(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** An unknown key for a strict object: typos, prototype keys, operators, random names. */
const unknownKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '$where',
    '$set',
    'depend_on',
    'runif',
    'tenant_code',
    'pid',
  ),
  fc.string({ minLength: 1, maxLength: 12 }).map((s) => `x_${s}`),
);

/** Where an unknown key may be added (all strict objects). */
const strictObjects: Path[] = [[], ['tasks', 0], ['tasks', 0, 'config'], ['tasks', 0, 'retry'], ['tasks', 2]];

/** A dependency cycle c0 -> c1 -> ... -> c(n-1) -> c0, with or without a genuine root task beside it. */
const cyclicPlaybook = fc.tuple(fc.integer({ min: 1, max: 30 }), fc.boolean()).map(([n, withRoot]) => ({
  name: 'cyclic',
  tasks: [
    ...(withRoot ? [{ id: 'root', type: 'noop' }] : []),
    ...Array.from({ length: n }, (_, i) => ({
      id: `c${i}`,
      type: 'noop',
      depends_on: [`c${(i + n - 1) % n}`, ...(withRoot && i === 0 ? ['root'] : [])],
    })),
  ],
}));

/** Mutated playbook bodies (as raw JSON text, so "__proto__" keys survive). */
const invalidPlaybookBody: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...playbookMutations)
      .chain(([path, arb]) => arb.map((v) => ({ path, v })))
      .map(({ path, v }) => {
        const body = validPlaybook();
        setAt(body, path, v);
        return JSON.stringify(body);
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...strictObjects), unknownKey, fc.jsonValue({ maxDepth: 2 }))
      .map(([path, key, v]) => {
        const body = validPlaybook();
        const target =
          path.length === 0
            ? body
            : (path.reduce<unknown>((n, s) => (n as Record<string | number, unknown>)[s], body) as Record<
                string,
                unknown
              >);
        setKey(target, key, v);
        return JSON.stringify(body);
      }),
  },
  { weight: 1, arbitrary: cyclicPlaybook.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: deepPlaybookBody },
  // Random JSON: never a playbook (no name/tasks pair of the right shape).
  {
    weight: 2,
    arbitrary: fc
      .jsonValue({ maxDepth: 4 })
      .filter((v) => !(isPlainObj(v) && 'tasks' in (v as object)))
      .map((v) => JSON.stringify(v)),
  },
  // Not JSON at all, truncated JSON, empty.
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 50 }).filter((s) => !isJson(s)),
      fc.constantFrom('', ' ', '{', '{"name":', 'null', '[]'),
    ),
  },
);

function encodable(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

function isJsonObject(s: string): boolean {
  try {
    return isPlainObj(JSON.parse(s));
  } catch {
    return false;
  }
}

function isJson(s: string): boolean {
  try {
    const v = JSON.parse(s) as unknown;
    return isPlainObj(v) && 'tasks' in (v as object);
  } catch {
    return false;
  }
}

/** Bodies that are invalid because of their sheer size or depth. */
function largeBodies(): Array<[string, string]> {
  const noops = (n: number) =>
    JSON.stringify({ name: 'large', tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, type: 'noop' })) });
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const deepHttpBody = (n: number) =>
    `{"name":"deep","tasks":[{"id":"a","type":"http","config":{"method":"POST","url":"https://x.example","body":${deep(n)}}}]}`;
  const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  return [
    ['201 tasks', noops(201)],
    ['5,000 tasks (under the size limit)', noops(5_000)],
    ['10,000 tasks', noops(10_000)],
    [
      '10,000-task chain',
      JSON.stringify({
        name: 'chain',
        tasks: Array.from({ length: 10_000 }, (_, i) => ({
          id: `t${i}`,
          type: 'noop',
          ...(i > 0 ? { depends_on: [`t${i - 1}`] } : {}),
        })),
      }),
    ],
    ['http body nested 40 levels', deepHttpBody(40)],
    ['http body nested 60,000 levels', deepHttpBody(60_000)],
    ['array nested 100,000 levels', deep(100_000)],
    ['object nested 30,000 levels', deepObject(30_000)],
    ['300 KiB string', JSON.stringify({ name: 'x'.repeat(300 * 1024), tasks: [] })],
    ['200 KiB description', JSON.stringify({ ...validPlaybook('big-desc'), description: 'd'.repeat(200 * 1024) })],
    ['huge number literal', `{"name":"n","tasks":[{"id":"a","type":"noop","timeout_ms":1${'0'.repeat(400)}}]}`],
    ['10,000 unknown keys', JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])))],
  ];
}

// ---------------------------------------------------------------------------------------------
// Checks

async function send(method: string, path: string, req: ApiRequest): Promise<ApiResponse> {
  cases += 1;
  const route = ROUTES.find((r) => r.method === method && matches(r.path, path))?.path ?? '(unmatched)';
  perRoute.set(`${method} ${route}`, (perRoute.get(`${method} ${route}`) ?? 0) + 1);
  return api(method, path, req);
}

/** `pattern` with every path parameter set to `param` (URL-encoded). */
function fill(pattern: string, param: string): string {
  return pattern.replace(/\{[^}]+\}/g, encodeURIComponent(param));
}

function matches(pattern: string, path: string): boolean {
  const a = pattern.split('/');
  const b = path.split('/');
  return a.length === b.length && a.every((seg, i) => seg.startsWith('{') || seg === b[i]);
}

/** A 4xx with the contract's error body: { error: { code, message, details? } }. */
function expectContractError(res: ApiResponse, what: string): void {
  expect(res.status, `${what}: ${JSON.stringify(res.body)?.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  const body = res.body as { error?: { code?: unknown; message?: unknown; details?: unknown } };
  expect(typeof body?.error?.code, what).toBe('string');
  expect(typeof body?.error?.message, what).toBe('string');
  if (body.error?.details !== undefined) {
    expect(Array.isArray(body.error.details), what).toBe(true);
    for (const d of body.error.details as Array<Record<string, unknown>>) {
      expect(typeof d.path, what).toBe('string');
      expect(typeof d.message, what).toBe('string');
    }
  }
  if (res.status === 400) expect(body.error?.code).toBe('VALIDATION_FAILED');
  // Answers stay small whatever was sent (details are capped).
  expect(JSON.stringify(res.body).length, what).toBeLessThan(64 * 1024);
}

function validAnswer(body: unknown): boolean {
  try {
    parseAnswer(body, ['approve', 'reject']);
    return true;
  } catch {
    return false;
  }
}

/** A value as the approval page's form fields (a JSON value as text). */
function formFields(body: unknown): Array<[string, string]> {
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : { choice: body };
  return Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
}

/** A 4xx with the contract's error body, or (the callback routes' pages) a 4xx page. */
function expectAnswer(res: ApiResponse, what: string): void {
  if (!res.headers['content-type']?.startsWith('text/html')) {
    expectContractError(res, what);
    return;
  }
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  expect(typeof res.body, what).toBe('string');
  expect(res.headers['content-security-policy'], what).toMatch(/^default-src 'none'/);
  expect(res.headers['cache-control'], what).toBe('no-store');
}

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of Object.values(COLLECTIONS)) out[c] = await direct.db.collection(c).countDocuments({});
  return out;
}

async function storedTarget(): Promise<unknown> {
  return direct.db.collection(COLLECTIONS.playbooks).findOne({ name: TARGET }, { projection: { _id: 0 } });
}

const opts = (n = RUNS) => ({ numRuns: n, seed: SEED, endOnFailure: true });

// ---------------------------------------------------------------------------------------------

describe('fuzzing every route with invalid input', () => {
  it('every route of the API is covered by this file', () => {
    const covered = new Set([
      'GET /health',
      'POST /playbooks',
      'GET /playbooks',
      'GET /playbooks/{name}',
      'PUT /playbooks/{name}',
      'DELETE /playbooks/{name}',
      'GET /analytics/top-playbooks',
      'POST /runplaybook',
      'GET /executions',
      'GET /executions/{peid}',
      'GET /executions/{peid}/timeline',
      'POST /executions/{peid}/redrive',
      'POST /executions/{peid}/cancel',
      'POST /executions/{peid}/rollback',
      'GET /containments',
      'GET /playbooks/{name}/versions',
      'GET /playbooks/{name}/versions/{version}',
      'POST /playbooks/{name}/versions/{version}/restore',
      'GET /audit',
      'POST /playbooks/{name}/webhooks',
      'GET /playbooks/{name}/webhooks',
      'DELETE /playbooks/{name}/webhooks/{hook_id}',
      'POST /hooks/{hook_id}',
      'PUT /playbooks/{name}/schedule',
      'GET /playbooks/{name}/schedule',
      'DELETE /playbooks/{name}/schedule',
      'GET /approvals',
      'POST /executions/{peid}/tasks/{task_id}/respond',
      'GET /callbacks/{token}',
      'POST /callbacks/{token}',
    ]);
    expect(ROUTES.map((r) => `${r.method} ${r.path}`).filter((r) => !covered.has(r))).toEqual([]);
  });

  it('POST /playbooks and PUT /playbooks/{name}: invalid definitions are a 400 (or 413) and store nothing', async () => {
    const before = await counts();
    const target = await storedTarget();
    await fc.assert(
      fc.asyncProperty(invalidPlaybookBody, fc.boolean(), async (raw, put) => {
        const res = put
          ? await send('PUT', `/playbooks/${TARGET}`, { token: h.tokenA, rawBody: raw })
          : await send('POST', '/playbooks', { token: h.tokenA, rawBody: raw });
        expectContractError(res, `${put ? 'PUT' : 'POST'} ${raw.slice(0, 200)}`);
      }),
      opts(RUNS * 4),
    );
    for (const [what, raw] of largeBodies()) {
      for (const [method, path] of [
        ['POST', '/playbooks'],
        ['PUT', `/playbooks/${TARGET}`],
      ] as const) {
        const t0 = performance.now();
        const res = await send(method, path, { token: h.tokenA, rawBody: raw });
        expectContractError(res, `${method} ${what}`);
        expect([400, 413], `${method} ${what}`).toContain(res.status);
        expect(performance.now() - t0, `${method} ${what}`).toBeLessThan(5_000);
      }
    }
    expect(await counts()).toEqual(before);
    expect(await storedTarget()).toEqual(target);
  });

  it('POST /runplaybook: invalid bodies and Idempotency-Key headers are a 4xx and start nothing', async () => {
    const before = await counts();
    const valid = { playbook_name: TARGET, alert_id: 'a-1', alert: { src_ip: '203.0.113.9' } };
    const mutations: Array<[string, fc.Arbitrary<unknown>]> = [
      ['playbook_name', fc.oneof(badName, notAString)],
      ['alert_id', fc.oneof(notAString, fc.constant(''), hugeString(257))],
      [
        'alert',
        fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 2 })), fc.boolean()),
      ],
      ['mode', fc.oneof(notAString, fc.constantFrom('TEST', 'dry', ''), unicodeString)],
      [
        'mocks',
        fc.oneof(
          notAString.filter((v) => !isPlainObj(v)),
          // Mocks in a live run, an unknown task, a malformed mock, a bad task id.
          fc.constant({ lookup: { output: 1 } }),
          fc.jsonValue({ maxDepth: 2 }).map((v) => ({ nope: { output: v } })),
          fc.constantFrom({ lookup: {} }, { lookup: { output: 1, error: { code: 'x', message: 'y' } } }),
          fc.constantFrom({ lookup: { error: { code: '', message: 'm' } } }, { 'Bad Id': { output: 1 } }),
          mongoOperator.map((op) => ({ lookup: op })),
        ),
      ],
    ];
    const invalidRun = fc.oneof(
      fc.constantFrom(...mutations).chain(([k, arb]) =>
        arb.map((v) => {
          const b = clone(valid) as Record<string, unknown>;
          setKey(b, k, v);
          return { raw: JSON.stringify(b), key: undefined as string | undefined };
        }),
      ),
      fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => {
        const b = clone(valid) as Record<string, unknown>;
        setKey(b, k, v);
        return { raw: JSON.stringify(b), key: undefined as string | undefined };
      }),
      // A playbook that does not exist (well-formed name): 404, nothing started.
      fc
        .stringMatching(/^[a-z0-9-]{1,64}$/)
        .filter((n) => n !== TARGET)
        .map((n) => ({
          raw: JSON.stringify({ ...valid, playbook_name: n }),
          key: undefined as string | undefined,
        })),
      fc
        .jsonValue({ maxDepth: 3 })
        .filter((v) => !isPlainObj(v))
        .map((v) => ({ raw: JSON.stringify(v), key: undefined as string | undefined })),
      // A valid body with an invalid Idempotency-Key.
      fc
        .oneof(
          fc.constant(''),
          hugeString(129),
          unicodeString.filter((s) => !/^[\x21-\x7e]{1,128}$/.test(s)),
        )
        .map((key) => ({ raw: JSON.stringify(valid), key })),
    );
    // A deeply nested alert (or a deep value anywhere else in the body) is a 400 naming the field.
    const deepRun = fc
      .tuple(fc.constantFrom('alert-field', 'alert-root', 'unknown-key', 'alert-id'), deepJsonText)
      .map(([where, deep]) => {
        const b = clone(valid) as Record<string, unknown>;
        if (where === 'alert-field') b.alert = { src_ip: '203.0.113.9', nested: '__DEEP__' };
        else if (where === 'alert-root') b.alert = '__DEEP__';
        else if (where === 'unknown-key') b.x_deep = '__DEEP__';
        else b.alert_id = '__DEEP__';
        return {
          raw: withDeep(b, deep),
          field: where === 'unknown-key' ? 'x_deep' : where === 'alert-id' ? 'alert_id' : 'alert',
        };
      });
    await fc.assert(
      fc.asyncProperty(deepRun, async ({ raw, field }) => {
        const res = await send('POST', '/runplaybook', { token: h.tokenA, rawBody: raw });
        expectContractError(res, `runplaybook deep ${field} ${raw.slice(0, 120)}`);
        expect(res.status).toBe(400);
        const details = (res.body as { error: { details?: Array<{ path: string }> } }).error.details ?? [];
        expect(
          details.map((d) => d.path),
          raw.slice(0, 120),
        ).toContain(field);
      }),
      opts(RUNS),
    );
    await fc.assert(
      fc.asyncProperty(invalidRun, async ({ raw, key }) => {
        const res = await send('POST', '/runplaybook', {
          token: h.tokenA,
          rawBody: raw,
          ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
        });
        expectContractError(res, `runplaybook ${raw.slice(0, 200)} key=${JSON.stringify(key)?.slice(0, 50)}`);
      }),
      opts(RUNS * 2),
    );
    expect(await counts()).toEqual(before);
  });

  it("path parameters: any name or peid that is malformed, unknown or another tenant's is a 400 or 404", async () => {
    const before = await counts();
    const anyParam = fc
      .oneof(
        badName,
        unicodeString,
        fc.uuid(),
        fc.stringMatching(/^[a-z0-9-]{1,64}$/).filter((n) => n !== TARGET),
        fc.constantFrom('$ne', '{"$ne":null}', '%00', '..', '__proto__', 'constructor', ' ', 'a'.repeat(10_000)),
      )
      // API Gateway only ever delivers valid UTF-8: a lone surrogate cannot be in a URL.
      .filter((s) => s.length > 0 && encodable(s));
    const paramRoutes = ROUTES.filter((r) => r.path.includes('{'));
    /** A valid body for the route (so the path is what decides), for `name`. */
    const bodyFor = (route: (typeof ROUTES)[number], name: string) =>
      route.path.endsWith('/schedule') && route.method === 'PUT'
        ? { every_minutes: 60 }
        : route.method === 'PUT'
          ? validPlaybook(name)
          : route.path.endsWith('/respond') || route.path.startsWith('/callbacks')
            ? { choice: 'approve' }
            : undefined;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paramRoutes), anyParam, fc.boolean(), async (route, param, otherTenant) => {
        const path = fill(route.path, param);
        const res = await send(route.method, path, {
          token: otherTenant ? h.tokenB : h.tokenA,
          body: bodyFor(route, param),
        });
        expectAnswer(res, `${route.method} ${path.slice(0, 200)}`);
        // A delivery to anything but a hook is the one 401 (a hook id is never confirmed or denied otherwise);
        // anything but a valid callback token is the one 404 (never a 400, 401 or 403).
        const expected = route.auth ? [400, 404] : route.path.startsWith('/callbacks') ? [404] : [401];
        expect(expected, `${route.method} ${path.slice(0, 200)}`).toContain(res.status);
      }),
      opts(RUNS * 2),
    );
    // The target's versions: any version but its only one (1) is malformed (400) or unknown (404).
    const versionRoutes = paramRoutes.filter((r) => r.path.includes('{version}'));
    const anyVersion = fc
      .oneof(
        fc.integer({ min: 2, max: 2 ** 40 }).map(String),
        fc.integer({ min: -5, max: 1 }).map((n) => (n === 1 ? '01' : String(n))),
        anyParam,
        fc.constantFrom('1.0', '1e0', ' 1', '0x1', '%31', 'latest', '{"$gt":0}'),
      )
      .filter((v) => v !== '1' && v.length > 0 && encodable(v));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...versionRoutes), anyVersion, fc.boolean(), async (route, v, otherTenant) => {
        const path = route.path.replace('{name}', TARGET).replace('{version}', encodeURIComponent(v));
        const res = await send(route.method, path, { token: otherTenant ? h.tokenB : h.tokenA });
        expectContractError(res, `${route.method} ${path.slice(0, 200)}`);
        expect([400, 404], `${route.method} ${path.slice(0, 200)}`).toContain(res.status);
      }),
      opts(RUNS),
    );
    // The tenant's own resources, seen with the other tenant's token: exactly like unknown ones.
    const ids: Record<string, string> = {
      name: TARGET,
      peid: EXISTING_PEID.value,
      hook_id: EXISTING_HOOK.value,
      version: '1',
      task_id: 'lookup',
    };
    for (const route of paramRoutes.filter((r) => r.auth)) {
      const path = route.path.replace(/\{([^}]+)\}/g, (_, p: string) => ids[p] ?? p);
      const res = await send(route.method, path, { token: h.tokenB, body: bodyFor(route, TARGET) });
      expectContractError(res, `other tenant ${route.method} ${path}`);
      expect(res.status, `other tenant ${route.method} ${path}`).toBe(404);
    }
    expect(await counts()).toEqual(before);
  });

  it('query strings: unknown keys, wrong types, out-of-range limits, forged cursors and operators are a 400', async () => {
    const queryRoutes = [
      '/executions',
      '/playbooks',
      `/playbooks/${TARGET}/versions`,
      '/audit',
      '/approvals',
      '/containments',
    ];
    const badQuery = fc.oneof(
      fc.tuple(unknownKey, fc.string()).map(([k, v]) => ({ [k]: v })),
      fc
        .oneof(
          fc.constantFrom(
            '0',
            '-1',
            '201',
            '1e3',
            '1.5',
            'NaN',
            'Infinity',
            '',
            ' ',
            '{"$gt":0}',
            '99999999999999999999',
          ),
          unicodeString,
        )
        // Out of range for both lists (executions: 1-100, playbooks: 1-200).
        .filter((v) => !(Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= 200))
        .map((v) => ({ limit: v })),
      fc
        .oneof(fc.constantFrom('RUNNING', 'done', '', '{"$ne":null}', '[$ne]'), unicodeString)
        .map((v) => ({ status: v })),
      fc
        .oneof(
          fc.constantFrom('', '{"$gt":0}', 'not-a-cursor', 'eyJ9'),
          fc.base64String({ minLength: 4, maxLength: 40 }),
          hugeString(513),
        )
        .map((v) => ({ before: v })),
      // The time ranges of /audit and /executions, the audit log's action and the search filters
      // of /executions (unknown keys elsewhere).
      fc
        .tuple(
          fc.constantFrom('since', 'until'),
          fc.oneof(
            fc.constantFrom(
              '',
              '-1',
              '1e12',
              '1.5',
              'NaN',
              'now',
              'yesterday',
              '2026-11-27',
              '{"$gt":0}',
              '9'.repeat(16),
              '99999999999999999',
            ),
            unicodeString,
          ),
        )
        .filter(([, v]) => !/^\d{1,15}$/.test(v))
        .map(([k, v]) => ({ [k]: v })),
      fc
        .oneof(
          fc.constantFrom('playbook.*', 'PLAYBOOK.CREATE', 'run', '', '{"$ne":null}'),
          unicodeString.filter((v) => !v.includes('.')),
        )
        .map((v) => ({ action: v })),
      fc
        .tuple(
          fc.constantFrom('trigger', 'mode', 'playbook_name'),
          fc.oneof(badName, fc.constantFrom('API', 'cron', 'dry')),
        )
        .filter(([k, v]) => !(k === 'playbook_name' && /^[a-z0-9-]{1,64}$/.test(v)))
        .map(([k, v]) => ({ [k]: v })),
      fc.constantFrom(
        { alert_id: '' },
        { alert_id: 'x'.repeat(257) },
        { since: '2000', until: '1000' },
        { since: '5', until: '5' },
        { playbook_name: 'a', mode: 'test' },
        { alert_id: 'a', trigger: 'api' },
        { trigger: 'webhook', mode: 'live' },
        { active: 'yes' },
        { active: 'TRUE' },
        { active: '' },
        { active: '{"$ne":null}' },
      ),
    );
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...queryRoutes), badQuery, async (path, query) => {
        // `before` is only a cursor of /executions; on /playbooks `after` takes names.
        const q = path === '/playbooks' && 'before' in query ? { after: query.before as string } : query;
        const res = await send('GET', path, { token: h.tokenA, query: q as Record<string, string> });
        // A forged cursor that happens to decode, or a well-formed name in `after`, is a valid
        // (empty) page; everything else is refused.
        if (res.status === 200) {
          expect(['before', 'after'], JSON.stringify(q)).toContain(Object.keys(q).join());
          return;
        }
        expectContractError(res, `GET ${path}?${new URLSearchParams(q as Record<string, string>)}`);
        expect(res.status).toBe(400);
      }),
      opts(RUNS * 2),
    );
    expect(await counts()).toEqual(before);
  });

  it('webhook and schedule definitions: invalid bodies are a 400 (or 413) and store nothing', async () => {
    const before = await counts();
    // Invalid as either mapping; a plain text or mixed template is an alert_id, never an alert (an object).
    const badMapping = fc.oneof(
      notAString,
      fc.constant(''),
      hugeString(4097),
      invalidJsonata.map((e) => `{{ ${e} }}`),
      fc.constantFrom('{{ unclosed', 'stray }}'),
    );
    const badHook = fc.oneof(
      fc.oneof(badMapping, fc.constantFrom('text only', 'a {{ b }} c')).map((v) => JSON.stringify({ alert: v })),
      badMapping.map((v) => JSON.stringify({ alert_id: v })),
      fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => {
        const b: Record<string, unknown> = {};
        setKey(b, k, v);
        return JSON.stringify(b);
      }),
      fc
        .jsonValue({ maxDepth: 3 })
        .filter((v) => !isPlainObj(v))
        .map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 40 }).filter((x) => x.trim() !== '' && !isJsonObject(x)),
    );
    await fc.assert(
      fc.asyncProperty(badHook, async (raw) => {
        const res = await send('POST', `/playbooks/${TARGET}/webhooks`, { token: h.tokenA, rawBody: raw });
        expectContractError(res, `webhook ${raw.slice(0, 200)}`);
      }),
      opts(RUNS),
    );
    const badSchedule = fc.oneof(
      fc
        .oneof(
          notAString,
          fc.constantFrom(
            '',
            '* * * *',
            '0 0 * * * *',
            '@hourly',
            '? * * * *',
            '61 * * * *',
            '0 0 30 2 *',
            '*/0 * * * *',
          ),
          hugeString(129),
          unicodeString,
        )
        .map((cron) => JSON.stringify({ cron })),
      fc
        .oneof(
          notAString.filter((v) => typeof v !== 'number'),
          hugeNumber,
          fc.constantFrom(0, 10_081, 1.5, '5'),
        )
        .map((every_minutes) => JSON.stringify({ every_minutes })),
      fc.constant(JSON.stringify({ cron: '* * * * *', every_minutes: 5 })),
      fc
        .oneof(fc.string(), fc.integer(), fc.array(fc.integer()))
        .map((alert) => JSON.stringify({ every_minutes: 5, alert })),
      notAString.filter((v) => typeof v !== 'boolean').map((enabled) => JSON.stringify({ every_minutes: 5, enabled })),
      fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => {
        const b: Record<string, unknown> = { every_minutes: 5 };
        setKey(b, k, v);
        return JSON.stringify(b);
      }),
      fc.string({ maxLength: 40 }).filter((x) => !isJsonObject(x)),
    );
    const schedule = await api('GET', `/playbooks/${TARGET}/schedule`, { token: h.tokenA });
    await fc.assert(
      fc.asyncProperty(badSchedule, async (raw) => {
        const res = await send('PUT', `/playbooks/${TARGET}/schedule`, { token: h.tokenA, rawBody: raw });
        expectContractError(res, `schedule ${raw.slice(0, 200)}`);
      }),
      opts(RUNS),
    );
    expect(await counts()).toEqual(before);
    expect((await api('GET', `/playbooks/${TARGET}/schedule`, { token: h.tokenA })).body).toEqual(schedule.body);
  });

  it('POST /hooks/{hook_id}: forged, malformed and oversized deliveries are a 4xx and start nothing', async () => {
    const before = await counts();
    const now = () => Math.floor(Date.now() / 1000);
    const header = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 80 }),
      unicodeString,
      hugeString(200),
      fc.constantFrom('sha256=', `sha256=${'0'.repeat(64)}`, `sha256=${'g'.repeat(64)}`, '{"$ne":null}', '0', '-1'),
    );
    const delivery = fc.record({
      hook: fc.oneof(fc.constant(EXISTING_HOOK.value), fc.string({ minLength: 1, maxLength: 40 }).filter(encodable)),
      raw: fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 100 }), invalidPlaybookBody),
      ts: fc.oneof(
        header,
        fc.integer({ min: -10_000, max: 10_000 }).map((d) => String(now() + d)),
      ),
      sig: header,
      deliveryId: header,
      base64: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(delivery, async ({ hook, raw, ts, sig, deliveryId, base64 }) => {
        const headers: Record<string, string> = {};
        if (ts !== undefined) headers['x-playbook-timestamp'] = ts;
        if (sig !== undefined) headers['x-playbook-signature'] = sig;
        if (deliveryId !== undefined) headers['x-playbook-delivery'] = deliveryId;
        const res = await send('POST', `/hooks/${encodeURIComponent(hook)}`, {
          headers,
          ...(base64 ? { base64Body: Buffer.from(raw) } : { rawBody: raw }),
        });
        expectContractError(res, `delivery ${JSON.stringify({ hook, ts, sig }).slice(0, 200)}`);
        expect(res.status).toBe(401);
      }),
      opts(RUNS * 2),
    );
    // Signed with the hook's secret but not usable: a 4xx naming what, nothing started.
    const signed = async (raw: string, extra: Record<string, string> = {}) => {
      const ts = String(now());
      return send('POST', `/hooks/${EXISTING_HOOK.value}`, {
        headers: {
          'x-playbook-timestamp': ts,
          'x-playbook-signature': signWebhook(EXISTING_HOOK.secret, ts, Buffer.from(raw)),
          ...extra,
        },
        rawBody: raw,
      });
    };
    for (const [raw, extra, status] of [
      ['not json', {}, 400],
      ['{"no_id":1}', {}, 400],
      ['[1]', {}, 400],
      ['{"id":1}', { 'x-playbook-delivery': 'has space' }, 400],
      [JSON.stringify({ id: 'x', pad: 'p'.repeat(260 * 1024) }), {}, 413],
      [`${'['.repeat(50_000)}${']'.repeat(50_000)}`, {}, 400],
    ] as const) {
      const res = await signed(raw, extra);
      expectContractError(res, `signed ${raw.slice(0, 40)}`);
      expect(res.status, raw.slice(0, 40)).toBe(status);
    }
    expect(await counts()).toEqual(before);
  });

  it('approvals: bad answers, forged tokens and hostile forms are a 4xx; nothing is recorded, the token stays valid', async () => {
    const run = await approvalRun();
    const before = await counts();
    const respondPath = `/executions/${run.peid}/tasks/approve/respond`;
    const badAnswer = fc.oneof(
      fc.record({ choice: fc.oneof(notAString, unicodeString, fc.constantFrom('Approve', 'approve ', 'fail', '')) }),
      fc.record({
        choice: fc.constant('approve'),
        comment: fc.oneof(
          notAString.filter((v) => v !== null),
          hugeString(1001),
        ),
      }),
      fc.record({ choice: fc.constant('approve'), extra: fc.jsonValue({ maxDepth: 1 }) }),
      fc.dictionary(unknownKey, fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 3 }),
      notAString,
      mongoOperator.map((op) => ({ choice: op })),
    );
    await fc.assert(
      fc.asyncProperty(badAnswer, fc.constantFrom('respond', 'callback', 'form'), async (body, how) => {
        // A form carries text only: a comment that is a number in JSON is a valid comment there.
        if (how === 'form') fc.pre(!validAnswer(Object.fromEntries(formFields(body))));
        const res =
          how === 'respond'
            ? await send('POST', respondPath, { token: h.tokenA, body })
            : how === 'callback'
              ? await send('POST', `/callbacks/${run.token}`, { body })
              : await send('POST', `/callbacks/${run.token}`, {
                  rawBody: new URLSearchParams(formFields(body)).toString(),
                  headers: { 'content-type': 'application/x-www-form-urlencoded' },
                });
        expectAnswer(res, `${how} ${JSON.stringify(body)?.slice(0, 200)}`);
        expect(res.status, `${how} ${JSON.stringify(body)?.slice(0, 200)}`).toBe(400);
      }),
      opts(RUNS),
    );
    // Tokens that are not this one (forged, truncated, altered, operators): the same 404, whatever the body.
    const forged = fc
      .oneof(
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.base64String({ minLength: 40, maxLength: 48 }),
        fc
          .integer({ min: 0, max: 42 })
          .map((i) => `${run.token.slice(0, i)}${run.token[i] === 'A' ? 'B' : 'A'}${run.token.slice(i + 1)}`),
        fc.constantFrom('{"$ne":null}', '%00', '..', run.token.toLowerCase(), `${run.token}=`, run.token.slice(1)),
      )
      .filter((t) => t !== run.token && t.length > 0 && encodable(t));
    await fc.assert(
      fc.asyncProperty(
        forged,
        fc.oneof(fc.json({ maxDepth: 2 }), fc.constant('{')),
        fc.boolean(),
        async (token, raw, get) => {
          const path = `/callbacks/${encodeURIComponent(token)}`;
          const res = get ? await send('GET', path, {}) : await send('POST', path, { rawBody: raw });
          expectAnswer(res, `${get ? 'GET' : 'POST'} ${path.slice(0, 80)}`);
          expect(res.status, path.slice(0, 80)).toBe(404);
        },
      ),
      opts(RUNS),
    );
    expect(await counts()).toEqual(before);
    const task = await direct.db.collection(COLLECTIONS.tasks).findOne({ peid: run.peid, task_id: 'approve' });
    expect(task).toMatchObject({ status: 'waiting', approval: { answer: null } });
    expect((await send('GET', `/callbacks/${run.token}`, {})).status).toBe(200);
  });

  it('rollback and containments: a body on a rollback is a 400 that changes nothing; any `active` or `after` is a 200 or a 400', async () => {
    const before = await counts();
    const junkBody = fc
      .oneof(fc.json({ maxDepth: 3 }), fc.string({ minLength: 1, maxLength: 200 }), deepJsonText)
      .filter((raw) => raw.trim().length > 0 && !/^\{\s*\}$/.test(raw.trim()));
    await fc.assert(
      fc.asyncProperty(junkBody, async (raw) => {
        const res = await send('POST', `/executions/${EXISTING_PEID.value}/rollback`, {
          token: h.tokenA,
          rawBody: raw,
        });
        expectContractError(res, `POST rollback ${raw.slice(0, 100)}`);
        expect([400, 413], raw.slice(0, 100)).toContain(res.status);
      }),
      opts(RUNS),
    );
    expect(await counts()).toEqual(before);
    const run = await direct.db.collection(COLLECTIONS.executions).findOne({ peid: EXISTING_PEID.value });
    expect(run?.rollback).toBeUndefined();
    const anyValue = fc.oneof(unicodeString, fc.base64String({ maxLength: 60 }), fc.constantFrom('true', 'false', ''));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('active', 'after', 'limit'), anyValue, async (key, value) => {
        const res = await send('GET', '/containments', { token: h.tokenA, query: { [key]: value } });
        expect(res.status, `${key}=${value.slice(0, 60)}`).toBeLessThan(500);
        if (res.status !== 200) {
          expectContractError(res, `GET /containments ${key}=${value.slice(0, 60)}`);
          expect(res.status).toBe(400);
        }
      }),
      opts(RUNS),
    );
  });

  it('any request at all on any route: never a 5xx, never a crash, always a JSON body (a page on the callback routes)', async () => {
    const anything = fc.record({
      route: fc.constantFrom(...ROUTES),
      param: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.uuid(), fc.constant(TARGET)).filter(encodable),
      raw: fc.oneof(fc.json({ maxDepth: 4 }), invalidPlaybookBody, fc.string({ maxLength: 100 }), deepJsonText),
      query: fc.dictionary(
        fc.oneof(
          unknownKey,
          fc.constantFrom('limit', 'status', 'before', 'after', 'category_id', 'since', 'until', 'action'),
        ),
        fc.string({ maxLength: 20 }),
        { maxKeys: 3 },
      ),
      tenant: fc.constantFrom('a', 'b'),
    });
    await fc.assert(
      fc.asyncProperty(anything, async ({ route, param, raw, query, tenant }) => {
        const path = fill(route.path, param);
        const res = await send(route.method, path, {
          token: tenant === 'a' ? h.tokenA : h.tokenB,
          rawBody: raw,
          query,
        });
        expect(res.status, `${route.method} ${path} ${raw.slice(0, 100)}`).toBeLessThan(500);
        if (res.status >= 400) expectAnswer(res, `${route.method} ${path}`);
      }),
      opts(RUNS * 2),
    );
  });
});
