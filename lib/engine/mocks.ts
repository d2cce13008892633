/**
 * Test runs: `mode: "test"` with `mocks` per task id. A mocked task is not executed (no
 * integration call, no child run, no loop expansion): it finishes with its mocked output or
 * error and records `mocked: true`. Its `run_if` still decides whether it runs at all (a test
 * run exercises the playbook's branching); a loop task's `run_if` speaks of its items, so a
 * mocked loop ignores it. A mocked error is final (a retry would get the same answer) and
 * follows the task's `on_failure`.
 */
import { ExpressionError, evaluateExpression } from '../domain/expressions.js';
import type { RunMode } from '../domain/triggers.js';
import { ValidationError } from '../errors.js';
import type { StoredPlaybook, TaskError, TaskMock, TaskRecord } from './model.js';
import type { TaskOutcome, TemplateContext } from './run-task.js';

/** A mock as a request gives it. */
export type MockInput = { output: unknown } | { error: TaskError };

/** The mocks of a run by task id; 400 naming `mocks` (live run) or `mocks.<id>` (no such task). */
export function planMocks(
  playbook: Pick<StoredPlaybook, 'name' | 'tasks'>,
  mode: RunMode,
  mocks: Record<string, MockInput> | undefined,
): Map<string, TaskMock> | undefined {
  if (mocks === undefined) return undefined;
  const ids = Object.keys(mocks);
  if (ids.length > 0 && mode !== 'test') {
    throw new ValidationError('mocks are only accepted in test runs', [
      { path: 'mocks', message: 'only with "mode": "test" (a live run always runs its tasks)' },
    ]);
  }
  const known = new Set(playbook.tasks.map((t) => t.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new ValidationError('mocks name tasks the playbook does not have', [
      ...unknown
        .slice(0, 50)
        .map((id) => ({ path: `mocks.${id}`, message: `playbook '${playbook.name}' has no task '${id}'` })),
    ]);
  }
  const out = new Map<string, TaskMock>();
  for (const [id, mock] of Object.entries(mocks)) {
    out.set(id, 'error' in mock ? { error: mock.error } : { output_json: JSON.stringify(mock.output ?? null) });
  }
  return out;
}

/** The outcome of a mocked task: skipped when its `run_if` says so, else its mock. */
export async function mockedOutcome(task: TaskRecord, ctx: TemplateContext, deadline: number): Promise<TaskOutcome> {
  const mock = task.mock as TaskMock;
  if (task.def.run_if !== undefined && task.def.for_each === undefined) {
    try {
      const go = await evaluateExpression(task.def.run_if, ctx, { deadline });
      if (!go) return { status: 'skipped', output: null, error: null, retryable: false };
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      return { status: 'failed', output: null, error: { code: err.code, message: err.message }, retryable: false };
    }
  }
  if ('error' in mock) return { status: 'failed', output: null, error: mock.error, retryable: false, mocked: true };
  return {
    status: 'succeeded',
    output: JSON.parse(mock.output_json) as unknown,
    error: null,
    retryable: false,
    mocked: true,
  };
}
