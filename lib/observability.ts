/**
 * Powertools singletons shared by every function in a container: a structured
 * logger (peid / tenant_code / task_id become persistent keys per invocation),
 * and EMF metrics. The X-Ray tracer is opt-in per function: lib/tracing.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

const serviceName = 'playbook-service';

export const logger = new Logger({
  serviceName,
  // Never log whole alerts, tokens or integration secrets: these keys are masked wherever they appear.
  jsonReplacerFn: (key: string, value: unknown) =>
    /^(authorization|token|secret|password|alert|alert_json|api[-_]?key)$/i.test(key) ? '[redacted]' : value,
});

// Routes without application metrics (reads) are normal here: Powertools' warning about
// an empty flush goes to the debug level instead of every request's log.
const metricsLogger = {
  trace: (...args: unknown[]) => logger.trace(String(args[0])),
  debug: (...args: unknown[]) => logger.debug(String(args[0])),
  info: (...args: unknown[]) => logger.info(String(args[0])),
  warn: (...args: unknown[]) => logger.debug(String(args[0])),
  error: (...args: unknown[]) => logger.error(String(args[0])),
};

export const metrics = new Metrics({ namespace: 'PlaybookService', serviceName, logger: metricsLogger });

export { MetricUnit };

/** Runs a database call and records its duration (EMF `DbCallDuration`, flushed per invocation). */
export async function timedDbCall<T>(fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    metrics.addMetric('DbCallDuration', MetricUnit.Milliseconds, performance.now() - started);
  }
}
