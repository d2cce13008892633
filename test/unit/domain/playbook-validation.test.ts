import { describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../../lib/domain/playbook-validation.js';
import { type FieldIssue, ValidationError } from '../../../lib/errors.js';
import { playbookWith, samplePlaybook } from './sample-playbook.js';

function issuesOf(input: unknown): FieldIssue[] {
  try {
    parsePlaybook(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).details ?? [];
  }
  throw new Error('expected a ValidationError');
}

function chain(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({ id: `t${i}`, type: 'noop', depends_on: i === 0 ? [] : [`t${i - 1}`] }));
}

describe('parsePlaybook', () => {
  it('accepts the contract sample', () => {
    const parsed = parsePlaybook(samplePlaybook());
    expect(parsed.name).toBe('enrich-and-block');
    expect(parsed.tasks.map((t) => t.id)).toEqual(['lookup', 'score', 'block', 'close']);
  });

  it('accepts a chain of 200 tasks', () => {
    expect(parsePlaybook(playbookWith(chain(200))).tasks).toHaveLength(200);
  });

  it.each([
    ['playbook', { ...samplePlaybook(), owner: 'x' }, 'owner'],
    ['task depend_on', playbookWith([{ id: 'a', type: 'noop', depend_on: [] }]), 'tasks[0].depend_on'],
    ['task runif', playbookWith([{ id: 'a', type: 'noop', runif: 'true' }]), 'tasks[0].runif'],
    ['task foreach', playbookWith([{ id: 'a', type: 'noop', foreach: 'alert.ips' }]), 'tasks[0].foreach'],
    [
      'http config',
      playbookWith([{ id: 'a', type: 'http', config: { method: 'GET', url: 'u', header: {} } }]),
      'tasks[0].config.header',
    ],
    ['noop config', playbookWith([{ id: 'a', type: 'noop', config: { x: 1 } }]), 'tasks[0].config.x'],
    ['delay config', playbookWith([{ id: 'a', type: 'delay', config: { seconds: 1, ms: 1 } }]), 'tasks[0].config.ms'],
    ['retry', playbookWith([{ id: 'a', type: 'noop', retry: { attempts: 2 } }]), 'tasks[0].retry.attempts'],
  ])('rejects an unknown field in the %s with its path', (_label, input, path) => {
    const issues = issuesOf(input);
    expect(issues).toContainEqual({ path, message: expect.stringContaining('unknown field') });
  });

  it('accepts for_each with a concurrency cap, and checks its expression', () => {
    const ok = parsePlaybook(playbookWith([{ id: 'a', type: 'noop', for_each: 'alert.ips', concurrency: 2 }]));
    expect(ok.tasks[0]).toMatchObject({ for_each: 'alert.ips', concurrency: 2 });
    expect(issuesOf(playbookWith([{ id: 'a', type: 'noop', for_each: 'alert.(' }]))).toEqual([
      { path: 'tasks[0].for_each', message: expect.any(String) },
    ]);
  });

  it('rejects concurrency without for_each', () => {
    expect(issuesOf(playbookWith([{ id: 'a', type: 'noop', concurrency: 2 }]))).toEqual([
      { path: 'tasks[0].concurrency', message: 'is only allowed together with for_each' },
    ]);
  });

  it('rejects an unknown task type naming the allowed ones', () => {
    const issues = issuesOf(playbookWith([{ id: 'a', type: 'email' }]));
    expect(issues).toEqual([
      { path: 'tasks[0].type', message: 'must be one of: http, transform, noop, delay, playbook, approval' },
    ]);
  });

  it('reports an operator object where a string is expected at that field', () => {
    const issues = issuesOf({ ...samplePlaybook(), name: { $ne: null } });
    expect(issues).toEqual([{ path: 'name', message: expect.stringContaining('expected string') }]);
  });

  it('names the root when the input is not an object', () => {
    expect(issuesOf('nope')).toEqual([{ path: '(root)', message: expect.any(String) }]);
    expect(issuesOf(null)[0]?.path).toBe('(root)');
  });

  it('rejects 201 tasks with a clear message', () => {
    expect(issuesOf(playbookWith(chain(201)))).toEqual([
      { path: 'tasks', message: 'a playbook has at most 200 tasks' },
    ]);
  });

  it('stays fast and caps issues on huge hostile input', () => {
    const started = Date.now();
    const many = issuesOf(playbookWith(Array.from({ length: 100_000 }, () => ({ bogus: 1 }))));
    expect(many).toHaveLength(1);
    const deps = issuesOf(
      playbookWith([
        { id: 'a', type: 'noop', depends_on: Array.from({ length: 150 }, () => 5) },
        { id: 'b', type: 'noop', x: 1, y: 2 },
      ]),
    );
    expect(deps.length).toBeLessThanOrEqual(50);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('caps the issue list and says how many there were', () => {
    let error: unknown;
    try {
      parsePlaybook(playbookWith(Array.from({ length: 200 }, () => ({ bogus: 1 }))));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details).toHaveLength(50);
    expect((error as ValidationError).message).toContain('first 50 of 200 shown');
  });

  it('rejects an empty task list', () => {
    expect(issuesOf(playbookWith([]))).toEqual([{ path: 'tasks', message: 'a playbook needs at least one task' }]);
  });

  it('rejects reserved ids', () => {
    expect(issuesOf(playbookWith([{ id: '__proto__', type: 'noop' }]))[0]?.path).toBe('tasks[0].id');
  });

  it('rejects duplicate ids at the later task', () => {
    const issues = issuesOf(
      playbookWith([
        { id: 'a', type: 'noop' },
        { id: 'a', type: 'noop' },
      ]),
    );
    expect(issues).toEqual([{ path: 'tasks[1].id', message: expect.stringContaining('duplicate task id "a"') }]);
  });

  it('rejects unknown, self and repeated dependencies at the entry', () => {
    const issues = issuesOf(
      playbookWith([
        { id: 'a', type: 'noop' },
        { id: 'b', type: 'noop', depends_on: ['a', 'ghost', 'b', 'a'] },
      ]),
    );
    expect(issues).toEqual([
      { path: 'tasks[1].depends_on[1]', message: 'unknown task "ghost"' },
      { path: 'tasks[1].depends_on[2]', message: 'a task cannot depend on itself' },
      { path: 'tasks[1].depends_on[3]', message: 'dependency "a" is listed more than once' },
    ]);
  });

  it('names a cycle', () => {
    const issues = issuesOf(
      playbookWith([
        { id: 'root', type: 'noop' },
        { id: 'a', type: 'noop', depends_on: ['root', 'c'] },
        { id: 'b', type: 'noop', depends_on: ['a'] },
        { id: 'c', type: 'noop', depends_on: ['b'] },
      ]),
    );
    expect(issues).toEqual([{ path: 'tasks[1].depends_on', message: 'cycle: a -> c -> b -> a' }]);
  });

  it('reports a playbook without a root task (and its cycle)', () => {
    const issues = issuesOf(
      playbookWith([
        { id: 'a', type: 'noop', depends_on: ['b'] },
        { id: 'b', type: 'noop', depends_on: ['a'] },
      ]),
    );
    expect(issues).toEqual([
      { path: 'tasks[0].depends_on', message: 'cycle: a -> b -> a' },
      { path: 'tasks', message: 'no root task: at least one task must have no dependencies' },
    ]);
  });

  it('detects a cycle through 200 tasks without recursion', () => {
    const tasks = chain(200) as { depends_on: string[] }[];
    tasks.push({ id: 'r', type: 'noop', depends_on: [] } as never);
    tasks.shift();
    (tasks[0] as { depends_on: string[] }).depends_on = ['t199'];
    const issues = issuesOf(playbookWith(tasks));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/^cycle: t1 -> t199 -> t198 .* -> t2 -> t1$/);
  });

  it('rejects JSONata that does not compile, everywhere it may appear', () => {
    const issues = issuesOf(
      playbookWith([
        { id: 'a', type: 'noop', run_if: 'alert.x >' },
        { id: 'b', type: 'transform', depends_on: ['a'], config: { expression: '$sum(' } },
        {
          id: 'c',
          type: 'http',
          depends_on: ['a'],
          config: {
            method: 'POST',
            url: 'https://x.example/{{ alert.( }}',
            headers: { Authorization: 'Bearer {{ ] }}' },
            body: { deep: [{ fine: '{{ alert.id }}', bad: 'id={{ $$$ + }}' }] },
          },
        },
      ]),
    );
    expect(issues.map((i) => i.path)).toEqual([
      'tasks[0].run_if',
      'tasks[1].config.expression',
      'tasks[2].config.url',
      'tasks[2].config.headers.Authorization',
      'tasks[2].config.body.deep[0].bad',
    ]);
    expect(issues[0]?.message).toMatch(/^invalid JSONata: .*position/);
  });

  it('rejects unbalanced template braces', () => {
    const issues = issuesOf(
      playbookWith([
        {
          id: 'c',
          type: 'http',
          config: { method: 'POST', url: 'https://x/{{ alert.id', body: { a: 'x }} y' } },
        },
      ]),
    );
    expect(issues.map((i) => i.path)).toEqual(['tasks[0].config.url', 'tasks[0].config.body.a']);
    expect(issues[0]?.message).toContain('never closed');
    expect(issues[1]?.message).toContain('no matching');
  });

  it('rejects a body nested too deeply without overflowing the stack', () => {
    let body: unknown = 'leaf';
    for (let i = 0; i < 200_000; i += 1) body = { a: body };
    const issues = issuesOf(playbookWith([{ id: 'h', type: 'http', config: { method: 'POST', url: 'u', body } }]));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toMatch(/^tasks\[0\]\.config\.body(\.a){32}$/);
    expect(issues[0]?.message).toContain('nested deeper than 32');
  });

  it('rejects non-JSON values in a body', () => {
    const issues = issuesOf(
      playbookWith([
        { id: 'h', type: 'http', config: { method: 'POST', url: 'u', body: { n: Number.NaN, d: new Date(0) } } },
      ]),
    );
    expect(issues.map((i) => i.path)).toEqual(['tasks[0].config.body.n', 'tasks[0].config.body.d']);
  });
});
