/**
 * What serverless.yml deploys, read from the file itself so the bench measures the
 * deployed configuration: a function's NODE_OPTIONS (its own environment over the
 * provider's).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../../scripts/lib/stack/index.mjs';

interface Template {
  params?: { default?: Record<string, unknown> };
  provider: { environment?: Record<string, unknown> };
  functions: Record<string, { handler: string; environment?: Record<string, unknown> }>;
}

function template(): Template {
  return parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { merge: true }) as Template;
}

/** The Node.js flags `fn` runs with in AWS (its NODE_OPTIONS, split on whitespace). */
export function deployedNodeOptions(fn: string): string[] {
  const sls = template();
  const def = sls.functions[fn];
  if (!def) throw new Error(`serverless.yml has no function ${fn}`);
  const value = def.environment?.NODE_OPTIONS ?? sls.provider.environment?.NODE_OPTIONS ?? '';
  return String(value).split(/\s+/).filter(Boolean);
}

/** The same, for the function whose handler is functions/<file>.ts (e.g. `execute-task`). */
export function deployedNodeOptionsOfFile(file: string): string[] {
  const fn = Object.entries(template().functions).find(([, def]) => def.handler.startsWith(`functions/${file}.`));
  if (!fn) throw new Error(`serverless.yml has no function with handler functions/${file}`);
  return deployedNodeOptions(fn[0]);
}

/** executeTask's event source mapping in a deployed stage: serverless.yml's taskBatchSize and taskMaxConcurrency. */
export function deployedConsumerShape(): { batchSize: number; maxConcurrency: number } {
  const params = template().params?.default ?? {};
  const batchSize = Number(params.taskBatchSize);
  const maxConcurrency = Number(params.taskMaxConcurrency);
  if (!Number.isInteger(batchSize) || !Number.isInteger(maxConcurrency))
    throw new Error('serverless.yml params.default needs integer taskBatchSize and taskMaxConcurrency');
  return { batchSize, maxConcurrency };
}
