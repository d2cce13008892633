/**
 * The X-Ray tracer (Powertools Tracer; off locally: POWERTOOLS_TRACE_ENABLED=false).
 * Importing this module opts a function in: its AWS SDK clients get subsegments and
 * its handler can use captureLambdaHandler. The HTTP functions and the scheduled and
 * DLQ functions import it; executeTask, the hot path, does not (the X-Ray SDK is
 * ~130 KB of its bundle and megabytes of its heap), and relies on Lambda's active
 * tracing for its function segment.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { setAwsClientInstrumentation } from './clients/instrument.js';

export const tracer = new Tracer({ serviceName: 'playbook-service' });

setAwsClientInstrumentation((client) => tracer.captureAWSv3Client(client));
