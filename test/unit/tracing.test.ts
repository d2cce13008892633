/** lib/tracing.ts: when X-Ray tracing is on, and that the X-Ray SDK is not even loaded when it is off. */
import { describe, expect, it } from 'vitest';
import { currentTracer, tracingMiddleware, tracingWanted } from '../../lib/tracing.js';

describe('tracingWanted (Powertools rule)', () => {
  const lambda = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' };
  it.each([
    ['in the Lambda runtime', lambda, true],
    ['in the Lambda runtime, POWERTOOLS_TRACE_ENABLED=true', { ...lambda, POWERTOOLS_TRACE_ENABLED: 'true' }, true],
    ['POWERTOOLS_TRACE_ENABLED=false', { ...lambda, POWERTOOLS_TRACE_ENABLED: 'false' }, false],
    ['POWERTOOLS_TRACE_ENABLED=FALSE', { ...lambda, POWERTOOLS_TRACE_ENABLED: ' FALSE ' }, false],
    ['outside Lambda', { POWERTOOLS_TRACE_ENABLED: 'true' }, false],
    ['SAM local', { ...lambda, AWS_SAM_LOCAL: 'true' }, false],
    ['Amplify mock', { AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' }, false],
  ])('%s -> %s', (_name, env, expected) => {
    expect(tracingWanted(env as NodeJS.ProcessEnv)).toBe(expected);
  });
});

describe('tracing off (this process: not in Lambda)', () => {
  it('no tracer, no middleware, and the X-Ray SDK (cls-hooked async_hooks) never loaded', async () => {
    expect(await currentTracer()).toBeUndefined();
    expect(tracingMiddleware()).toEqual([]);
    // cls-hooked, which the X-Ray SDK loads, registers its namespaces on `process`.
    expect((process as { namespaces?: unknown }).namespaces).toBeUndefined();
  });
});
