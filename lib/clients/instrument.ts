/**
 * How the container's AWS SDK clients are instrumented. Nothing by default; a function
 * that imports lib/tracing.ts installs the X-Ray tracer's wrapper before its first
 * client is created (clients are created lazily, on first use). executeTask does not:
 * its bundle and memory stay smaller, and Lambda's active tracing still records it.
 */
type Instrument = <T>(client: T) => T;

let instrument: Instrument = (client) => client;

/** Installs the wrapper applied to every AWS SDK client created afterwards. */
export function setAwsClientInstrumentation(fn: Instrument): void {
  instrument = fn;
}

/** Wraps a new AWS SDK client with the installed instrumentation (identity when none). */
export function instrumentAwsClient<T>(client: T): T {
  return instrument(client);
}
