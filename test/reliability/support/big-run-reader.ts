/**
 * One read of a big run in a process of its own with a Lambda-sized heap, for big-runs.test.ts:
 *   node --max-old-space-size=512 --expose-gc --import tsx \
 *     test/reliability/support/big-run-reader.ts <reap|get|redrive> <peid>
 * with the test's environment (database, queue, REAP_STALE_AFTER_MS) and BIG_RUN_TOKEN (the
 * tenant's bearer token). After a warm-up (modules loaded, clients connected, a forced GC) it
 * samples the heap every millisecond while the real handler runs, and prints one JSON line:
 * { step, result, heapGrowthMiB } where heapGrowthMiB is the highest heap use seen minus the
 * warm baseline.
 */
import type { ApiResponse } from '../../support/api.js';

const [step, peid] = process.argv.slice(2);
const token = process.env.BIG_RUN_TOKEN ?? '';
const { api } = await import('../../support/api.js');
const { lambdaContext } = await import('../../support/lambda-context.js');
const { handler: reap } = await import('../../../functions/reap-runs.js');
const { closeClients } = await import('../../../lib/clients.js');

// Warm-up: the same handlers and clients, answering for a run that does not exist (a sweep
// would already handle the run under test).
const unknown = '00000000-0000-4000-8000-00000000dead';
await api('GET', `/executions/${unknown}`, { token });
await api('POST', `/executions/${unknown}/redrive`, { token });
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
gc?.();
const baseline = process.memoryUsage().heapUsed;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().heapUsed);
}, 1);

let result: unknown;
const summary = (res: ApiResponse) => ({ status: res.status, body: res.body, payloadBytes: res.payloadBytes });
if (step === 'reap') result = await reap({} as never, lambdaContext('reapRuns'));
else if (step === 'get') result = summary(await api('GET', `/executions/${peid}`, { token }));
else if (step === 'redrive') result = summary(await api('POST', `/executions/${peid}/redrive`, { token }));
else throw new Error(`unknown step ${step}`);
peak = Math.max(peak, process.memoryUsage().heapUsed);
clearInterval(sampler);
await closeClients();

process.stdout.write(`${JSON.stringify({ step, result, heapGrowthMiB: (peak - baseline) / 2 ** 20 })}\n`);
