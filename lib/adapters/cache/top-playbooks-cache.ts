/**
 * Redis copy of the top-playbooks reports: `top:{tenant}` per tenant with results and
 * `top:#last-run` (the run marker), all expiring after a few schedule periods so a stopped
 * schedule or a departed tenant leaves nothing behind (MongoDB keeps the record).
 */
import type {
  AnalyticsCache,
  StoredTopPlaybooks,
  TopPlaybooksReport,
  TopPlaybooksRun,
} from '../../engine/ports/analytics.js';
import type { RedisGuard } from './redis-guard.js';

export interface TopPlaybooksCacheOptions {
  /** Namespace of the keys (the database name). */
  keyPrefix: string;
  ttlSeconds: number;
}

function parse<T>(text: string | null | undefined): T | null {
  if (typeof text !== 'string') return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** An AnalyticsCache in Redis behind `guard`. */
export function createTopPlaybooksCache(guard: RedisGuard, opts: TopPlaybooksCacheOptions): AnalyticsCache {
  const tenantKey = (tenant: string) => `${opts.keyPrefix}top:{${tenant}}`;
  const markerKey = `${opts.keyPrefix}top:#last-run`;

  return {
    async saveTopPlaybooks(byTenant, run) {
      await guard.run('save top playbooks', async (redis) => {
        if (byTenant.size > 0) {
          const pipe = redis.pipeline();
          for (const [tenant, items] of byTenant) {
            pipe.set(tenantKey(tenant), JSON.stringify({ ...run, items }), 'EX', opts.ttlSeconds);
          }
          const results = (await pipe.exec()) ?? [];
          const failed = results.find(([err]) => err);
          // Without every report, no new marker: readers would take a missing report for "no runs".
          if (failed?.[0]) throw failed[0];
        }
        await redis.set(markerKey, JSON.stringify(run), 'EX', opts.ttlSeconds);
      });
    },

    async loadTopPlaybooks(tenant_code) {
      const results = await guard.run('read top playbooks', (redis) =>
        redis.pipeline().get(tenantKey(tenant_code)).get(markerKey).exec(),
      );
      if (!results) return undefined;
      const [[reportErr, reportText] = [null, null], [markerErr, markerText] = [null, null]] = results;
      if (reportErr || markerErr) return undefined;
      const last = parse<TopPlaybooksRun>(markerText as string | null);
      if (!last) return undefined;
      const stored: StoredTopPlaybooks = { report: parse<TopPlaybooksReport>(reportText as string | null), last };
      return stored;
    },
  };
}
