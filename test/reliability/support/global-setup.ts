/**
 * globalSetup of the reliability project (after test/support/global-setup.ts, which
 * starts the shared local stack): the fault proxy server and the local SSM server,
 * both started here and stopped by their PIDs when the run ends.
 */
import type { TestProject } from 'vitest/node';
import { startToxiproxy } from '../../support/toxiproxy.js';
import { startMoto } from './moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    toxiproxyUrl: string;
    ssmEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const results = await Promise.allSettled([startToxiproxy(), startMoto()]);
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const [toxi, moto] = results;
  if (toxi?.status !== 'fulfilled' || moto?.status !== 'fulfilled') {
    await Promise.all(started.map((s) => s.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw failed?.reason ?? new Error('reliability servers did not start');
  }
  project.provide('toxiproxyUrl', toxi.value.url);
  project.provide('ssmEndpoint', moto.value.url);
  return async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
}
