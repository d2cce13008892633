/**
 * The X-Ray tracer (Powertools Tracer). Importing this module opts a function in: its AWS
 * SDK clients get subsegments and its handler uses tracingMiddleware(). The HTTP functions
 * and the scheduled and DLQ functions import it; executeTask, the hot path, does not (the
 * X-Ray SDK is ~130 KB of its bundle) and relies on Lambda's
 * active tracing for its function segment.
 *
 * Where tracing is off (POWERTOOLS_TRACE_ENABLED=false, as locally, or outside Lambda) the
 * tracer is never loaded: the X-Ray SDK enables async_hooks (cls-hooked) for the whole
 * process when it loads, which costs ~8% of the CPU of every promise (bench: profile).
 * The module stays in the bundle; esbuild evaluates it only on the dynamic import.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { setAwsClientInstrumentation } from './clients/instrument.js';

/** Powertools' own rule: on in the Lambda runtime unless POWERTOOLS_TRACE_ENABLED=false; never under SAM local or Amplify mock. */
export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.POWERTOOLS_TRACE_ENABLED ?? '').trim().toLowerCase() === 'false') return false;
  const runtime = env.AWS_EXECUTION_ENV ?? '';
  return runtime !== '' && runtime !== 'AWS_Lambda_amplify-mock' && (env.AWS_SAM_LOCAL ?? '') === '';
}

/** The container's tracer; undefined where tracing is off. */
export const tracer: Tracer | undefined = tracingWanted()
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName: 'playbook-service' })
  : undefined;

if (tracer) setAwsClientInstrumentation((client) => tracer.captureAWSv3Client(client));

/** The handler's middlewares (for middy's `use`): a subsegment per invocation with the cold-start annotation; none where tracing is off. */
export function tracingMiddleware(): Array<ReturnType<typeof captureLambdaHandler>> {
  return tracer ? [captureLambdaHandler(tracer, { captureResponse: false })] : [];
}
