/** The scheduled functions' stack (EventBridge): the shared one (base.ts) with tracing. A throw is retried by EventBridge. */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { tracingMiddleware } from '../tracing.js';
import { baseHandler } from './base.js';

export function scheduledHandler<TResult>(run: (context: Context) => Promise<TResult>) {
  return baseHandler<ScheduledEvent, TResult>(tracingMiddleware()).handler(async (_event, context) => run(context));
}
