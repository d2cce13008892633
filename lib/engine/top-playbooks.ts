/**
 * The top-playbooks report (the original Go service's): per tenant, the 5 playbooks with the highest
 * average runtime among runs completed in the window. A scheduled function computes
 * every tenant's report at once; the API serves the stored result.
 */
import { logger, MetricUnit, metrics } from '../observability.js';
import type { AnalyticsCache, AnalyticsStore, StoredTopPlaybooks, TopPlaybookItem } from './ports/analytics.js';

/** The contract's report size. */
export const TOP_PLAYBOOKS_LIMIT = 5;

const DAY_MS = 86_400_000;

export interface TopPlaybooksDeps {
  store: AnalyticsStore;
  cache: AnalyticsCache;
  clock: () => number;
  windowDays: number;
}

/** What GET /analytics/top-playbooks answers; generated_at is null until the first computation. */
export interface TopPlaybooksView {
  generated_at: number | null;
  window_days: number;
  items: TopPlaybookItem[];
}

/**
 * The tenant's view of what is stored. A report older than the last run means the tenant
 * had no completed run in that run's window: its answer is then empty, as of that run.
 */
export function topPlaybooksView(stored: StoredTopPlaybooks, windowDays: number): TopPlaybooksView {
  const { report, last } = stored;
  if (report && (!last || report.generated_at >= last.generated_at)) {
    return { generated_at: report.generated_at, window_days: report.window_days, items: report.items };
  }
  if (last) return { generated_at: last.generated_at, window_days: last.window_days, items: [] };
  return { generated_at: null, window_days: windowDays, items: [] };
}

/** Computes and stores every tenant's report: one aggregation, one bulk write, one Redis pipeline. */
export async function computeTopPlaybooks(deps: TopPlaybooksDeps): Promise<{ tenants: number; generated_at: number }> {
  const started = deps.clock();
  const reports = await deps.store.topPlaybooksByTenant(started - deps.windowDays * DAY_MS, TOP_PLAYBOOKS_LIMIT);
  const run = { generated_at: started, window_days: deps.windowDays };
  // MongoDB is the record; Redis only speeds up reads, so it is written second and best-effort.
  await deps.store.saveTopPlaybooks(reports, run);
  await deps.cache.saveTopPlaybooks(reports, run);
  metrics.addMetric('TopPlaybooksTenants', MetricUnit.Count, reports.size);
  metrics.addMetric('TopPlaybooksDuration', MetricUnit.Milliseconds, deps.clock() - started);
  logger.info('top playbooks computed', { tenants: reports.size, window_days: deps.windowDays });
  return { tenants: reports.size, generated_at: started };
}

/** The tenant's last computed report: Redis first, MongoDB when Redis cannot answer. */
export async function readTopPlaybooks(deps: TopPlaybooksDeps, tenant_code: string): Promise<TopPlaybooksView> {
  const stored = (await deps.cache.loadTopPlaybooks(tenant_code)) ?? (await deps.store.loadTopPlaybooks(tenant_code));
  return topPlaybooksView(stored, deps.windowDays);
}
