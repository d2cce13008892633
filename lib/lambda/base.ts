/**
 * The middy stack every function shares: Powertools logger context (keys reset per invocation)
 * and EMF metrics flushed at the end with the cold-start metric, plus the given middlewares
 * first (tracing, where a function opts in: lib/tracing.ts). The http, sqs and scheduled
 * variants build on it.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics } from '../observability.js';

/** A middy handler of `TEvent` answering `TResult`, with the shared stack; `before` runs outermost. */
export function baseHandler<TEvent, TResult>(before: MiddlewareObj[] = []) {
  let stack = middy<TEvent, TResult, Error, Context>();
  for (const m of before) stack = stack.use(m as MiddlewareObj<TEvent, TResult, Error, Context>);
  return stack
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
