/**
 * Every MongoDB filter the service sends is served by a declared index (or _id), checked
 * statically: the query declarations (lib/adapters/mongo/indexed.ts) against INDEXES, and
 * the store sources against the declarations, so neither can drift from the code:
 *   - every query call, bulk-write `filter:` and aggregate `$match` is an inline `indexed(SPEC, ...)`;
 *   - every cursor `.sort(...)` is `sortOf(SPEC)`;
 *   - the `// index: <name>` comment nearest to each of them names the spec's index.
 * What a filter actually contains is checked by `indexed` itself whenever a query runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { INDEXES } from '../../lib/adapters/mongo/collections.js';
import { executionSearch } from '../../lib/adapters/mongo/execution-search.js';
import {
  declaredQueries,
  filterAlternatives,
  ID_INDEX,
  indexed,
  misfit,
  type QuerySpec,
} from '../../lib/adapters/mongo/indexed.js';
import { RUN_QUERIES } from '../../lib/adapters/mongo/run-store.js';
import { dueFilter, TIMER_QUERIES } from '../../lib/adapters/mongo/timer-store.js';
import { containmentsFilter, UNDO_QUERIES } from '../../lib/adapters/mongo/undo-store.js';
import { WAIT_QUERIES, waitingFilter } from '../../lib/adapters/mongo/wait-store.js';
import type { ExecutionQuery } from '../../lib/engine/ports/run-records.js';
import { encodeCursor } from '../../lib/engine/runs.js';
import { EXECUTION_SEARCH_FIELDS, executionListQuery } from '../../lib/http/schemas.js';

const dir = path.resolve(import.meta.dirname, '../../lib/adapters/mongo');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const modules = new Map<string, Record<string, unknown>>();
for (const f of files) modules.set(f, (await import(path.join(dir, f))) as Record<string, unknown>);

/** Collection methods whose first argument (distinct: second) is a filter. */
const FILTER_ARG: Record<string, number> = {
  find: 0,
  findOne: 0,
  findOneAndUpdate: 0,
  findOneAndDelete: 0,
  findOneAndReplace: 0,
  updateOne: 0,
  updateMany: 0,
  replaceOne: 0,
  deleteOne: 0,
  deleteMany: 0,
  countDocuments: 0,
  distinct: 1,
};

interface Finding {
  file: string;
  line: number;
  problem: string;
}

function keyOf(spec: QuerySpec): string[] {
  if (spec.index === ID_INDEX) return ['_id'];
  const idx = INDEXES.find((i) => i.name === spec.index && i.collection === spec.collection);
  return idx ? Object.keys(idx.key) : [];
}

/** Problems of one declaration against INDEXES. */
function specProblems(spec: QuerySpec): string[] {
  const out: string[] = [];
  const idx = INDEXES.find((i) => i.name === spec.index);
  if (spec.index !== ID_INDEX && !idx) return [`index ${spec.index} is not declared in INDEXES`];
  if (idx && idx.collection !== spec.collection) out.push(`index ${spec.index} is on ${idx.collection}`);
  const key = keyOf(spec);
  if (spec.prefix.length === 0) out.push('declares no index fields');
  spec.prefix.forEach((f, i) => {
    if (key[i] !== f) out.push(`prefix [${spec.prefix}] is not a prefix of ${spec.index} {${key}}`);
  });
  for (const r of spec.residual ?? []) if (spec.prefix.includes(r)) out.push(`'${r}' is both prefix and residual`);
  // A partial index serves only queries that name its filter's fields (MongoDB ignores it otherwise).
  for (const f of Object.keys(idx?.partial ?? {})) {
    if (!spec.prefix.includes(f) && !(spec.residual ?? []).includes(f)) {
      out.push(`index ${spec.index} is partial on '${f}', which the query does not name`);
    }
  }
  if (spec.sort?.by === 'index') {
    const sortKeys = Object.entries(spec.sort.key);
    const dirs = spec.index === ID_INDEX ? { _id: 1 } : (idx?.key ?? {});
    // The sort runs along the index from a position reached by the prefix, in one direction;
    // fields past the end of the key are tie-breakers.
    const served = Array.from({ length: spec.prefix.length + 1 }, (_, j) => j).some((j) => {
      const run = sortKeys.slice(0, key.length - j);
      if (run.length === 0) return false;
      const flips = run.map(([f, d], i) => (key[j + i] === f ? Number(dirs[f as keyof typeof dirs]) * d : 0));
      return flips.every((x) => x === 1) || flips.every((x) => x === -1);
    });
    if (!served) out.push(`sort {${Object.keys(spec.sort.key)}} is not served by ${spec.index} {${key}}`);
  }
  return out;
}

function isCallTo(node: ts.Node | undefined, name: string): node is ts.CallExpression {
  return !!node && ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === name;
}

function isFunctionArg(node: ts.Node | undefined): boolean {
  return !!node && (ts.isArrowFunction(node) || ts.isFunctionExpression(node));
}

/** The specs an `indexed`/`sortOf` first argument can denote (`Q.x`, or `c ? Q.a : Q.b`, or a local alias). */
function resolveSpecs(expr: ts.Expression, exports: Record<string, unknown>, fn: ts.Node | undefined): QuerySpec[] {
  if (ts.isParenthesizedExpression(expr)) return resolveSpecs(expr.expression, exports, fn);
  if (ts.isConditionalExpression(expr)) {
    return [...resolveSpecs(expr.whenTrue, exports, fn), ...resolveSpecs(expr.whenFalse, exports, fn)];
  }
  if (ts.isPropertyAccessExpression(expr) && ts.isIdentifier(expr.expression)) {
    const table = exports[expr.expression.text] as Record<string, QuerySpec> | undefined;
    const spec = table?.[expr.name.text];
    return spec ? [spec] : [];
  }
  if (ts.isIdentifier(expr) && fn) {
    // A local `const q = TABLE.x` (or a conditional of two): the nearest declaration before the use.
    let found: QuerySpec[] = [];
    const visit = (n: ts.Node) => {
      if (
        ts.isVariableDeclaration(n) &&
        ts.isIdentifier(n.name) &&
        n.name.text === expr.text &&
        n.initializer &&
        n.pos < expr.pos
      ) {
        found = resolveSpecs(n.initializer, exports, undefined);
      }
      ts.forEachChild(n, visit);
    };
    visit(fn);
    return found;
  }
  return [];
}

/** The store method (or named function) around `node`; arrow callbacks such as timedDbCall's are looked through. */
function enclosingFunction(node: ts.Node): ts.Node | undefined {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
    if (ts.isMethodDeclaration(n) || ts.isFunctionDeclaration(n)) return n;
  }
  return undefined;
}

function leadingIndexComment(n: ts.Node, text: string): string | undefined {
  for (const r of (ts.getLeadingCommentRanges(text, n.getFullStart()) ?? []).reverse()) {
    const m = /^\/\/\s*index:\s*(.*)$/.exec(text.slice(r.pos, r.end));
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

/**
 * The nearest `// index: ...` comment above `node` within its method: on the node or an
 * ancestor, or on an earlier statement of an enclosing block (a comment heading the method).
 */
function indexComment(node: ts.Node, text: string): string | undefined {
  const fn = enclosingFunction(node);
  for (let n: ts.Node | undefined = node; n && n !== fn; n = n.parent) {
    const own = leadingIndexComment(n, text);
    if (own !== undefined) return own;
    if (n.parent && ts.isBlock(n.parent)) {
      const siblings = n.parent.statements;
      for (let i = siblings.indexOf(n as ts.Statement) - 1; i >= 0; i--) {
        const earlier = leadingIndexComment(siblings[i] as ts.Statement, text);
        if (earlier !== undefined) return earlier;
      }
    }
  }
  return undefined;
}

function scan(file: string): Finding[] {
  const text = readFileSync(path.join(dir, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const exports = modules.get(file) ?? {};
  const findings: Finding[] = [];
  const report = (node: ts.Node, problem: string) =>
    findings.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1, problem });

  /** `node` must be an inline indexed(SPEC, ...) whose nearest index comment names SPEC's index. */
  const requireIndexed = (node: ts.Node | undefined, where: ts.Node, what: string) => {
    if (!isCallTo(node, 'indexed')) return report(where, `${what}: filter is not an inline indexed(SPEC, ...)`);
    const first = node.arguments[0];
    const specs = first ? resolveSpecs(first, exports, enclosingFunction(node)) : [];
    if (specs.length === 0) return report(where, `${what}: cannot resolve the query spec`);
    const comment = indexComment(node, text);
    if (comment === undefined) return report(where, `${what}: no '// index: <name>' comment`);
    const named: string[] = comment.match(/[A-Za-z0-9_]+/g) ?? [];
    for (const s of specs) {
      const want = s.index === ID_INDEX ? ['_id', ID_INDEX] : [s.index];
      if (!want.some((w) => named.includes(w))) {
        report(where, `${what}: comment '// index: ${comment}' does not name ${s.index} (${s.name})`);
      }
    }
  };

  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      const at = FILTER_ARG[method];
      if (at !== undefined && !isFunctionArg(node.arguments[0])) {
        requireIndexed(node.arguments[at], node, method);
      }
      if (method === 'aggregate') {
        const pipeline = node.arguments[0];
        const firstStage = pipeline && ts.isArrayLiteralExpression(pipeline) ? pipeline.elements[0] : undefined;
        const match =
          firstStage && ts.isObjectLiteralExpression(firstStage)
            ? firstStage.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === '$match')
            : undefined;
        if (!match || !ts.isPropertyAssignment(match)) report(node, 'aggregate: the first stage is not a $match');
        else requireIndexed(match.initializer, node, 'aggregate $match');
      }
      if (method === 'sort' && node.arguments[0] && !isFunctionArg(node.arguments[0])) {
        if (!isCallTo(node.arguments[0], 'sortOf')) report(node, 'sort: not sortOf(SPEC)');
      }
    }
    // Bulk-write operations: { updateOne: { filter: ... } } and friends.
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'filter') {
      requireIndexed(node.initializer, node, 'bulk write filter');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return findings;
}

describe('index coverage', () => {
  it('finds the stores and their declarations', () => {
    expect(files).toEqual(expect.arrayContaining(['playbook-store.ts', 'run-store.ts', 'analytics-store.ts']));
    expect(declaredQueries().length).toBeGreaterThan(10);
  });

  it('every declared query is served by a declared index on its collection', () => {
    const problems = declaredQueries().flatMap((s) => specProblems(s).map((p) => `${s.name}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('every query in lib/adapters/mongo goes through its declaration', () => {
    const findings = files.flatMap(scan).map((f) => `${f.file}:${f.line} ${f.problem}`);
    expect(findings).toEqual([]);
  });

  it("every declared index is used by a query, or is one of the original Go service's indexes kept for dashboards", () => {
    const used = new Set(declaredQueries().map((s) => s.index));
    // The original service's indexes with no query in this service yet (kept: its dashboards use them).
    const keptForOthers = new Set(['uid_created', 'tenant_alert_status']);
    // TTL indexes serve MongoDB's expiry, not a query.
    const unused = INDEXES.filter((i) => !used.has(i.name) && !keptForOthers.has(i.name) && !i.expireAfterSeconds).map(
      (i) => i.name,
    );
    expect(unused).toEqual([]);
  });
});

describe('indexed() at run time', () => {
  const spec: QuerySpec = {
    name: 'test.q',
    collection: 'playbook_collection',
    index: 'tenant_status_category',
    prefix: ['tenant_code', 'status', 'category_id'],
    residual: ['name'],
  };

  it('accepts a prefix, with residual fields and $or branches', () => {
    expect(() => indexed(spec, { tenant_code: 'a' })).not.toThrow();
    expect(() => indexed(spec, { tenant_code: 'a', status: 'active', name: { $gt: 'x' } })).not.toThrow();
    expect(() =>
      indexed(spec, { tenant_code: 'a', $or: [{ status: 'active' }, { status: 'inactive' }] }),
    ).not.toThrow();
  });

  it('refuses an undeclared field, a skipped key field, or a filter without the leading field', () => {
    expect(() => indexed(spec, { tenant_code: 'a', owner: 'x' })).toThrow(/filters on 'owner'/);
    expect(() => indexed(spec, { tenant_code: 'a', category_id: 'c' })).toThrow(/skips 'status'/);
    expect(() => indexed(spec, { status: 'active' })).toThrow(/leading field/);
    expect(() => indexed(spec, { $or: [{ tenant_code: 'a' }, { status: 'active' }] })).toThrow(/leading field/);
  });

  it('expands $or and $and into the field sets a query can match with', () => {
    expect(filterAlternatives({ a: 1, $or: [{ b: 1 }, { c: 1, d: 1 }] })).toEqual([
      ['a', 'b'],
      ['a', 'c', 'd'],
    ]);
    expect(filterAlternatives({ $and: [{ a: 1 }, { $or: [{ b: 1 }, { c: 1 }] }] })).toEqual([
      ['a', 'b'],
      ['a', 'c'],
    ]);
    expect(misfit(spec, ['tenant_code', 'status', 'category_id', 'name'])).toBeNull();
  });
});

describe('GET /executions: every search the API accepts is served by an index', () => {
  /** The query spec the run store sends a search with (run-store.ts listExecutions). */
  const specFor = (field: string | undefined, status: boolean): QuerySpec =>
    field === 'playbook_name'
      ? RUN_QUERIES.execsByPlaybook
      : field === 'alert_id'
        ? RUN_QUERIES.execsByAlert
        : field === 'trigger.type'
          ? RUN_QUERIES.execsByTrigger
          : field === 'mode'
            ? RUN_QUERIES.execsByMode
            : status
              ? RUN_QUERIES.execsByStatus
              : RUN_QUERIES.execsNewest;
  const sample: Record<string, string[]> = {
    playbook_name: ['enrich-ip'],
    alert_id: ['alert-1'],
    // The values older runs stand for when they lack the field ($in with null) and the others.
    trigger: ['api', 'webhook', 'schedule', 'subplaybook'],
    mode: ['live', 'test'],
  };
  const modifiers: Record<string, string> = {
    status: 'failed',
    since: '1790000000000',
    until: '1790000600000',
    before: encodeCursor({ createddate: 1790000300000, peid: '7d5e2c1a-0000-4000-8000-000000000001' }),
  };
  /** Every subset of the modifiers. */
  const subsets = (keys: string[]): string[][] => {
    const out: string[][] = [[]];
    for (const k of keys) for (const x of out.slice()) out.push([...x, k]);
    return out;
  };

  /** The query the handler builds from a parsed query string (functions/executions.ts). */
  function toExecutionQuery(raw: Record<string, string>): ExecutionQuery {
    const { status, before, ...search } = executionListQuery.parse(raw);
    const cursor = before === undefined ? undefined : JSON.parse(Buffer.from(before, 'base64url').toString('utf8'));
    return {
      ...search,
      ...(status ? { status: status as ExecutionQuery['status'] } : {}),
      ...(cursor ? { before: { createddate: cursor[0], peid: cursor[1] } } : {}),
    };
  }

  it('each search field alone or none, with any of status, since, until and the cursor', () => {
    const problems: string[] = [];
    let checked = 0;
    const searches: Array<Record<string, string>> = [
      {},
      ...Object.entries(sample).flatMap(([k, vs]) => vs.map((v) => ({ [k]: v }))),
    ];
    for (const search of searches) {
      for (const mods of subsets(Object.keys(modifiers))) {
        const raw = { ...search, ...Object.fromEntries(mods.map((m) => [m, modifiers[m] as string])) };
        const query = toExecutionQuery(raw);
        const { field, where } = executionSearch('acme', query);
        const spec = specFor(field, query.status !== undefined);
        checked += 1;
        for (const p of specProblems(spec)) problems.push(`${JSON.stringify(raw)}: ${p}`);
        try {
          indexed(spec, where);
        } catch (err) {
          problems.push(`${JSON.stringify(raw)}: ${(err as Error).message}`);
        }
        // A search field is followed by the status in its index: the filter always names one (or all four).
        if (field !== undefined && !('execution_status' in where)) problems.push(`${JSON.stringify(raw)}: no status`);
        if (spec.sort?.by !== 'index') problems.push(`${JSON.stringify(raw)}: sorted in memory`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBe(9 * 16);
  });

  it('two search fields at once are refused (400 naming the second), so no unserved search reaches the store', () => {
    for (const [i, a] of EXECUTION_SEARCH_FIELDS.entries()) {
      for (const b of EXECUTION_SEARCH_FIELDS.slice(i + 1)) {
        const r = executionListQuery.safeParse({ [a]: sample[a]?.[0], [b]: sample[b]?.[0] });
        expect(r.success, `${a} + ${b}`).toBe(false);
        expect(
          r.error?.issues.map((x) => x.path.join('.')),
          `${a} + ${b}`,
        ).toContain(b);
      }
    }
    expect(() => executionSearch('acme', { limit: 1, playbook_name: 'a', mode: 'test' })).toThrow(/at most one/);
  });
});

describe('the approvals list and the timer sweep are served by their indexes, with and without a cursor', () => {
  const check = (spec: QuerySpec, filter: Record<string, unknown>) => {
    expect(specProblems(spec)).toEqual([]);
    expect(() => indexed(spec, filter)).not.toThrow();
    expect(spec.sort?.by).toBe('index');
  };

  it('GET /approvals: a tenant, waiting approvals only (the partial index), oldest first', () => {
    for (const filter of [waitingFilter('acme'), waitingFilter('acme', { since: 5, key: 'p:t' })]) {
      check(WAIT_QUERIES.waitingOfTenant, filter);
      const idx = INDEXES.find((i) => i.name === WAIT_QUERIES.waitingOfTenant.index);
      // The partial filter's value is the one every query sends.
      for (const [field, value] of Object.entries(idx?.partial ?? {})) expect(filter[field]).toBe(value);
      expect(filter.tenant_code).toBe('acme');
    }
  });

  it('GET /containments: a tenant, tasks with an undo state only (the partial index), newest applied first', () => {
    const cursor = { applied_at: 5, key: 'p:t' };
    for (const active of [true, false, undefined]) {
      for (const filter of [containmentsFilter('acme', active), containmentsFilter('acme', active, cursor)]) {
        check(UNDO_QUERIES.containmentsOfTenant, filter);
        expect(filter.tenant_code).toBe('acme');
        // Every query names the partial filter's field with values that imply it exists.
        const inEffect = filter['undo.in_effect' as keyof typeof filter];
        expect(inEffect).toEqual(active === undefined ? { $in: [true, false] } : active);
      }
    }
  });

  it('fireTimers: open timers by sweep time, across tenants (a system job, like runSchedules)', () => {
    check(TIMER_QUERIES.due, dueFilter(1_000));
    check(TIMER_QUERIES.due, dueFilter(1_000, { sweep_at: 500, id: 'x' }));
  });

  it('a partial index names its filter in every query on it', () => {
    const partial = INDEXES.filter((i) => i.partial);
    expect(partial.map((i) => i.name)).toEqual(['task_waiting_since', 'task_containments']);
    const onPartial = declaredQueries().filter((s) => partial.some((i) => i.name === s.index));
    expect(onPartial.length).toBeGreaterThan(0);
    for (const s of onPartial) expect(specProblems(s)).toEqual([]);
    const bad: QuerySpec = { ...WAIT_QUERIES.waitingOfTenant, name: 'test.partial', residual: [] };
    expect(specProblems(bad).join()).toMatch(/partial on 'status'/);
  });
});
