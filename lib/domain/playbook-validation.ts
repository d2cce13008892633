/**
 * Save-time validation of a playbook: the schema, then the checks a schema cannot express
 * (ids, references, cycles, roots, and that every expression and template compiles).
 * All problems are reported together, capped, each with the path of the offending field.
 */
import type * as z from 'zod';
import { type FieldIssue, ValidationError } from '../errors.js';
import { compileExpression, ExpressionError } from './expressions.js';
import { formatPath } from './field-path.js';
import { isPlainObject } from './json-value.js';
import {
  type ApprovalConfig,
  MAX_TASKS,
  type PlaybookInput,
  playbookSchema,
  TASK_TYPES,
  type TaskDefinition,
} from './playbook-schema.js';
import { secretExpressionIssue, secretTemplateIssues } from './secret-refs.js';
import { collectTemplateErrors, describeSyntaxError } from './templates.js';

/** At most this many issues are returned, so a hostile body cannot produce a huge error. */
export const MAX_ISSUES = 50;

/**
 * Parses and fully validates a playbook definition; returns it with defaults applied.
 * Throws ValidationError whose details name every offending path (at most 50).
 */
export function parsePlaybook(input: unknown): PlaybookInput {
  // Refuse an oversized task list before zod parses (and reports on) every element of it.
  if (isPlainObject(input) && Array.isArray(input.tasks) && input.tasks.length > MAX_TASKS) {
    throw invalid([{ path: 'tasks', message: `a playbook has at most ${MAX_TASKS} tasks` }]);
  }
  const parsed = playbookSchema.safeParse(input);
  if (!parsed.success) throw invalid(toFieldIssues(parsed.error.issues));
  const issues = findPlaybookIssues(parsed.data);
  if (issues.length > 0) throw invalid(issues);
  return parsed.data;
}

function invalid(issues: FieldIssue[]): ValidationError {
  const shown = issues.slice(0, MAX_ISSUES);
  const suffix = issues.length > MAX_ISSUES ? ` (first ${MAX_ISSUES} of ${issues.length} shown)` : '';
  return new ValidationError(`invalid playbook: ${issues.length} problem(s)${suffix}`, shown);
}

/** Maps zod issues to `{ path, message }`; an unknown field is reported at its own path. */
export function toFieldIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: formatPath([...issue.path, key]), message: `unknown field "${key}"` });
    } else if (issue.code === 'invalid_union' && issue.path[issue.path.length - 1] === 'type') {
      out.push({ path: formatPath(issue.path), message: `must be one of: ${TASK_TYPES.join(', ')}` });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}

/**
 * Graph and expression checks on a schema-valid playbook: duplicate ids, unknown, self
 * and repeated dependencies, cycles, a missing root, and JSONata that does not compile.
 */
export function findPlaybookIssues(playbook: PlaybookInput): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const { tasks } = playbook;
  const firstIndex = new Map<string, number>();
  tasks.forEach((task, i) => {
    const first = firstIndex.get(task.id);
    if (first === undefined) firstIndex.set(task.id, i);
    else
      issues.push({
        path: `tasks[${i}].id`,
        message: `duplicate task id "${task.id}" (first used by tasks[${first}])`,
      });
  });

  // Edges of the first task with each id, as declaration indexes, for cycle detection.
  const edges: number[][] = tasks.map(() => []);
  tasks.forEach((task, i) => {
    const seen = new Set<string>();
    task.depends_on.forEach((dep, j) => {
      const path = `tasks[${i}].depends_on[${j}]`;
      const target = firstIndex.get(dep);
      if (dep === task.id) issues.push({ path, message: 'a task cannot depend on itself' });
      else if (target === undefined) issues.push({ path, message: `unknown task "${dep}"` });
      else if (seen.has(dep)) issues.push({ path, message: `dependency "${dep}" is listed more than once` });
      else if (firstIndex.get(task.id) === i) edges[i]?.push(target);
      seen.add(dep);
    });
  });

  for (const cycle of findCycles(edges, MAX_ISSUES)) {
    const start = cycle[0] as number;
    const names = [...cycle, start].map((k) => tasks[k]?.id ?? '?');
    issues.push({ path: `tasks[${start}].depends_on`, message: `cycle: ${names.join(' -> ')}` });
  }

  if (!tasks.some((task) => task.depends_on.length === 0)) {
    issues.push({ path: 'tasks', message: 'no root task: at least one task must have no dependencies' });
  }

  tasks.forEach((task, i) => {
    if (issues.length >= MAX_ISSUES) return;
    issues.push(...expressionIssues(task, `tasks[${i}]`));
  });
  return issues;
}

function expressionIssues(task: TaskDefinition, path: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  // Each bare expression must compile and must not read `secrets` (secret-refs.ts).
  const bare = (src: string, at: string) => {
    const message = syntaxError(src);
    const issue = message === undefined ? secretExpressionIssue(src, at) : { path: at, message };
    if (issue !== undefined) issues.push(issue);
  };
  if (task.run_if !== undefined) bare(task.run_if, `${path}.run_if`);
  if (task.for_each !== undefined) {
    bare(task.for_each, `${path}.for_each`);
  } else if (task.concurrency !== undefined) {
    issues.push({ path: `${path}.concurrency`, message: 'is only allowed together with for_each' });
  }
  if (task.type === 'transform') {
    bare(task.config.expression, `${path}.config.expression`);
  } else if (task.type === 'http' || task.type === 'playbook') {
    issues.push(...collectTemplateErrors(task.config, `${path}.config`));
    issues.push(...secretTemplateIssues(task.config, `${path}.config`, task.type === 'http'));
  } else if (task.type === 'delay' && task.config.until !== undefined) {
    issues.push(...collectTemplateErrors(task.config.until, `${path}.config.until`));
  } else if (task.type === 'approval') {
    issues.push(...approvalIssues(task.config, `${path}.config`));
    // The notify request is an http request: secrets only directly in its url, headers or body.
    const { notify, ...question } = task.config;
    issues.push(...secretTemplateIssues(question, `${path}.config`, false));
    if (notify !== undefined) issues.push(...secretTemplateIssues(notify, `${path}.config.notify`, true));
  }
  if (task.type !== 'http' && task.type !== 'playbook' && task.type !== 'approval') {
    issues.push(...secretTemplateIssues(task.config, `${path}.config`, false));
  }
  issues.push(...undoIssues(task, path));
  return issues;
}

/**
 * A containment's undo (docs/containment.md; the schema allows it on http tasks only): not on a
 * `for_each` task (one request cannot reverse a list of calls: run the call and its undo in a
 * sub-playbook per item); its templates compile; secrets only directly, as in an http config;
 * `undo_after_seconds` only with an undo.
 */
function undoIssues(task: TaskDefinition, path: string): FieldIssue[] {
  if (task.type !== 'http') return [];
  if (task.undo === undefined) {
    return task.undo_after_seconds === undefined
      ? []
      : [{ path: `${path}.undo_after_seconds`, message: 'is only allowed together with undo' }];
  }
  const issues: FieldIssue[] = [];
  if (task.for_each !== undefined) {
    issues.push({ path: `${path}.undo`, message: 'is not allowed together with for_each' });
  }
  issues.push(...collectTemplateErrors(task.undo, `${path}.undo`));
  issues.push(...secretTemplateIssues(task.undo, `${path}.undo`, true));
  return issues;
}

/** An approval's choices are distinct and not blank; `on_timeout` is one of them or "fail"; templates compile. */
function approvalIssues(config: ApprovalConfig, path: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();
  config.choices.forEach((choice, j) => {
    const first = seen.get(choice);
    if (choice.trim().length === 0) issues.push({ path: `${path}.choices[${j}]`, message: 'must not be blank' });
    else if (first !== undefined)
      issues.push({
        path: `${path}.choices[${j}]`,
        message: `duplicate choice "${choice}" (first at choices[${first}])`,
      });
    else seen.set(choice, j);
  });
  if (config.on_timeout !== 'fail' && !seen.has(config.on_timeout)) {
    issues.push({ path: `${path}.on_timeout`, message: 'must be one of the choices, or "fail"' });
  }
  issues.push(...collectTemplateErrors(config.prompt, `${path}.prompt`));
  if (config.notify !== undefined) issues.push(...collectTemplateErrors(config.notify, `${path}.notify`));
  return issues;
}

function syntaxError(src: string): string | undefined {
  try {
    compileExpression(src);
    return undefined;
  } catch (err) {
    return `invalid JSONata: ${err instanceof ExpressionError ? describeSyntaxError(err) : String(err)}`;
  }
}

/**
 * Iterative depth-first search (no recursion, so 200 chained tasks cannot exhaust the
 * stack). Each back edge yields one cycle, rotated to start at its earliest-declared task.
 */
function findCycles(edges: readonly (readonly number[])[], limit: number): number[][] {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = edges.map(() => WHITE);
  const cycles: number[][] = [];
  const seen = new Set<string>();
  for (let root = 0; root < edges.length && cycles.length < limit; root += 1) {
    if (color[root] !== WHITE) continue;
    const path: number[] = [root];
    const next: number[] = [0];
    color[root] = GREY;
    while (path.length > 0) {
      const top = path.length - 1;
      const node = path[top] as number;
      const edgeIndex = next[top] as number;
      const target = edges[node]?.[edgeIndex];
      if (target === undefined) {
        color[node] = BLACK;
        path.pop();
        next.pop();
        continue;
      }
      next[top] = edgeIndex + 1;
      if (color[target] === WHITE) {
        color[target] = GREY;
        path.push(target);
        next.push(0);
      } else if (color[target] === GREY) {
        const cycle = rotateToSmallest(path.slice(path.indexOf(target)));
        const key = cycle.join(',');
        if (!seen.has(key) && cycles.length < limit) {
          seen.add(key);
          cycles.push(cycle);
        }
      }
    }
  }
  return cycles;
}

function rotateToSmallest(cycle: number[]): number[] {
  const start = cycle.indexOf(Math.min(...cycle));
  return [...cycle.slice(start), ...cycle.slice(0, start)];
}
