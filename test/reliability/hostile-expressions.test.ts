/**
 * JSONata expressions and templates written to hang or exhaust a function — infinite and
 * deep recursion (with and without tail calls), quadratic work, huge ranges, strings and
 * outputs, deep structures, catastrophic regular expressions (nested quantifiers, backreferences,
 * lookarounds, case-insensitive, through `$eval`, `$toMillis` pictures), `$eval` — in transforms,
 * run_if conditions and http templates, run through the real executeTask handler. Each
 * task ends (failed, with an EXPRESSION_* code where the engine stopped it) within
 * bounded time, the consumer keeps serving other runs meanwhile, and its heap does not
 * keep what the expressions built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.js';
import { waitSettled } from './support/fixtures.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const LOOP_TAIL = '( $f := function($x) { $f($x + 1) }; $f(0) )';
const LOOP_NO_ARGS = '( $f := function() { $f() }; $f() )';

/** name -> [where the expression goes, the expression, must the engine stop it with EXPRESSION_*?] */
const HOSTILE: Record<
  string,
  { where: 'transform' | 'run_if' | 'url' | 'header' | 'body'; expr: string; stopped: boolean }
> = {
  'tail-recursive infinite loop': { where: 'transform', expr: LOOP_TAIL, stopped: true },
  'deep recursion': {
    where: 'transform',
    expr: '( $f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000000) )',
    stopped: true,
  },
  'quadratic work': { where: 'transform', expr: '$sum([1..100000].([1..100000]))', stopped: true },
  'huge range': { where: 'transform', expr: '[1..100000000]', stopped: true },
  'huge pad': { where: 'transform', expr: '$pad("", 100000000, "x")', stopped: true },
  'string doubling': {
    where: 'transform',
    expr: '$reduce([1..64], function($acc) { $acc & $acc }, "xxxxxxxx")',
    stopped: true,
  },
  'output too large': {
    where: 'transform',
    expr: '[1..100000].{"key": $, "value": "xxxxxxxxxxxxxxxx"}',
    stopped: true,
  },
  'deep structure': { where: 'transform', expr: '$reduce([1..100000], function($acc) { [$acc] }, [])', stopped: true },
  'distinct of a big product': { where: 'transform', expr: '$distinct([1..3000].([1..3000]))', stopped: true },
  'sort of a big sequence': { where: 'transform', expr: '$sort([1..100000].([1..100]))', stopped: true },
  'eval of a loop': { where: 'transform', expr: `$eval("${LOOP_NO_ARGS}")`, stopped: true },
  'run_if loop': { where: 'run_if', expr: LOOP_NO_ARGS, stopped: true },
  'url template loop': { where: 'url', expr: LOOP_TAIL, stopped: true },
  'url template huge': { where: 'url', expr: '$join([1..100000].$string(), "")', stopped: true },
  'header template recursion': {
    where: 'header',
    expr: '( $f := function($n) { $f($n) & $f($n) }; $f(1) )',
    stopped: true,
  },
  'body template deep': {
    where: 'body',
    expr: '$reduce([1..100000], function($acc) { {"a": $acc} }, {})',
    stopped: true,
  },
  // Regular expressions run in a worker thread terminated at the deadline (regex-sandbox.ts).
  'catastrophic regex': {
    where: 'transform',
    expr: '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)',
    stopped: true,
  },
  'catastrophic regex in $replace': {
    where: 'transform',
    expr: '$replace($pad("", 50000, "a") & "!", /(a|aa)+$/, "b")',
    stopped: true,
  },
  'backreference regex': {
    where: 'transform',
    expr: '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$|\\1/)',
    stopped: true,
  },
  'lookahead regex in run_if': {
    where: 'run_if',
    expr: '$contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(?=(a+)+$)/)',
    stopped: true,
  },
  'case-insensitive regex in a url template': {
    where: 'url',
    expr: '$replace("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/i, "x")',
    stopped: true,
  },
  'regex through $eval': {
    where: 'transform',
    expr: '$eval("$match(\\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\\", /^(a|a)+$/)")',
    stopped: true,
  },
  '$toMillis picture (JSONata builds the regex)': {
    where: 'transform',
    expr: '$toMillis($pad("", 200, "a") & "!", "[FNn][FNn][FNn][FNn][FNn][FNn][FNn][FNn]")',
    stopped: true,
  },
};

function playbookFor(name: string, h2: Harness): unknown {
  const { where, expr } = HOSTILE[name] as (typeof HOSTILE)[string];
  const slug = `hostile-${name.replace(/[^a-z0-9]+/g, '-')}`.slice(0, 64).replace(/-$/, '');
  const url = `${h2.stub.url}/ok/hostile`;
  const task =
    where === 'transform'
      ? { id: 'evil', type: 'transform', config: { expression: expr } }
      : where === 'run_if'
        ? { id: 'evil', type: 'noop', run_if: expr }
        : {
            id: 'evil',
            type: 'http',
            config: {
              method: 'POST',
              url: where === 'url' ? `${url}/{{ ${expr} }}` : url,
              ...(where === 'header' ? { headers: { 'x-evil': `{{ ${expr} }}` } } : {}),
              ...(where === 'body' ? { body: { evil: `{{ ${expr} }}` } } : {}),
            },
          };
  return { name: slug, tasks: [task] };
}

describe('hostile expressions and templates', () => {
  it('every hostile task ends within bounded time while the consumer keeps serving other runs', async () => {
    const names = Object.keys(HOSTILE);
    const slugs = new Map<string, string>();
    await Promise.all(
      names.map(async (name) => {
        const body = playbookFor(name, h) as { name: string };
        slugs.set(name, body.name);
        await h.createPlaybook(body);
      }),
    );
    await h.createPlaybook({
      name: 'canary',
      tasks: [
        { id: 'a', type: 'http', config: { method: 'GET', url: `${h.stub.url}/ok/canary` } },
        { id: 'b', type: 'transform', depends_on: ['a'], config: { expression: 'tasks.a.output.status' } },
      ],
    });

    (globalThis as { gc?: () => void }).gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const poller = h.poller({ maxConcurrency: 2 }).start();
    const t0 = Date.now();
    try {
      const runs = await Promise.all(
        names.map(async (name) => ({ name, peid: await h.startRun(slugs.get(name) as string) })),
      );
      const canaries = await Promise.all(Array.from({ length: 5 }, () => h.startRun('canary')));
      for (const peid of canaries) expect((await h.waitFinished(peid, 60_000)).execution_status).toBe('completed');
      const results = await Promise.all(runs.map(async (r) => ({ ...r, e: await waitSettled(h, r.peid, 60_000) })));
      const elapsed = Date.now() - t0;
      const lines: string[] = [];
      for (const { name, e } of results) {
        const task = e.tasks[0];
        const spec = HOSTILE[name] as (typeof HOSTILE)[string];
        const raw = task as unknown as { duration_ms: number | null };
        lines.push(`${name}: ${task?.status} ${task?.error?.code ?? ''} ${raw.duration_ms} ms`);
        expect(['succeeded', 'failed', 'skipped'], name).toContain(task?.status);
        // Bounded: the engine's evaluation budgets are 250 ms per expression, 1 s per template set.
        expect(raw.duration_ms ?? Number.POSITIVE_INFINITY, name).toBeLessThan(5_000);
        if (spec.stopped) {
          expect(task?.status, name).toBe('failed');
          expect(task?.error?.code, `${name}: ${JSON.stringify(task?.error)}`).toMatch(/^EXPRESSION_/);
          expect(task?.attempts, name).toBe(1);
        }
        // Nothing huge was stored whatever the expression produced.
        expect(JSON.stringify(task?.output ?? null).length, name).toBeLessThan(70 * 1024);
      }
      console.log(`[hostile] ${names.length} hostile runs + 5 canaries in ${elapsed} ms:\n  ${lines.join('\n  ')}`);
      expect(h.stub.callsTo('/ok/hostile')).toHaveLength(0);
    } finally {
      await poller.stop();
    }
    (globalThis as { gc?: () => void }).gc?.();
    const grown = process.memoryUsage().heapUsed - heapBefore;
    console.log(`[hostile] heap growth after GC: ${Math.round(grown / 1024 / 1024)} MiB`);
    expect(grown).toBeLessThan(100 * 1024 * 1024);
  });
});
