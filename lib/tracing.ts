/**
 * The X-Ray tracer (Powertools Tracer). Importing this module opts a function in: its handler
 * uses tracingMiddleware(), which gives each invocation a subsegment and the function's AWS SDK
 * clients theirs. The HTTP functions (but webhook and triggers: lib/lambda/http-untraced.ts) and
 * the scheduled and DLQ functions import it; executeTask, the hot path, does not (the X-Ray SDK is
 * ~130 KB of a bundle) and relies on Lambda's active tracing for its function segment.
 *
 * Where tracing is off (POWERTOOLS_TRACE_ENABLED=false, as locally, or outside Lambda) the
 * tracer is never loaded: the X-Ray SDK enables async_hooks (cls-hooked) for the whole process
 * when it loads, which costs ~8% of the CPU of every promise (bench: profile). Where it is on, it
 * is loaded by the first invocation's middleware, before the handler builds its clients (they are
 * built lazily, on first use). No top-level await: `serverless invoke local` and other CommonJS
 * loaders `require()` the bundles, which Node refuses for a module graph with one.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { MiddlewareObj } from '@middy/core';
import { setAwsClientInstrumentation } from './clients/instrument.js';

/** Powertools' own rule: on in the Lambda runtime unless POWERTOOLS_TRACE_ENABLED=false; never under SAM local or Amplify mock. */
export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.POWERTOOLS_TRACE_ENABLED ?? '').trim().toLowerCase() === 'false') return false;
  const runtime = env.AWS_EXECUTION_ENV ?? '';
  return runtime !== '' && runtime !== 'AWS_Lambda_amplify-mock' && (env.AWS_SAM_LOCAL ?? '') === '';
}

let loaded: Promise<{ tracer: Tracer; middleware: MiddlewareObj }> | undefined;

/** The container's tracer and its handler middleware, loaded once, on first use. */
function loadTracer(): Promise<{ tracer: Tracer; middleware: MiddlewareObj }> {
  loaded ??= (async () => {
    const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
      import('@aws-lambda-powertools/tracer'),
      import('@aws-lambda-powertools/tracer/middleware'),
    ]);
    const tracer = new Tracer({ serviceName: 'playbook-service' });
    setAwsClientInstrumentation((client) => tracer.captureAWSv3Client(client));
    return { tracer, middleware: captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj };
  })();
  return loaded;
}

/** The container's tracer once an invocation loaded it; undefined where tracing is off (or before). */
export async function currentTracer(): Promise<Tracer | undefined> {
  return loaded ? (await loaded).tracer : undefined;
}

/**
 * The handler's middlewares (for middy's `use`): a subsegment per invocation with the cold-start
 * annotation, the tracer loaded by the first invocation; none where tracing is off.
 */
export function tracingMiddleware(): MiddlewareObj[] {
  if (!tracingWanted()) return [];
  return [
    {
      before: async (request) => (await loadTracer()).middleware.before?.(request),
      after: async (request) => (await loadTracer()).middleware.after?.(request),
      onError: async (request) => (await loadTracer()).middleware.onError?.(request),
    },
  ];
}
