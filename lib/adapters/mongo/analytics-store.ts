/**
 * The top-playbooks computation over `playbook_execution_collection` and its stored
 * result in `top_playbooks_collection` (_id = tenant_code, plus one run-marker document
 * whose _id cannot be a tenant code: tenant codes are [A-Za-z0-9_-]).
 */
import type { AnyBulkWriteOperation, Db } from 'mongodb';
import type { ExecutionRecord } from '../../engine/model.js';
import type {
  AnalyticsStore,
  TopPlaybookItem,
  TopPlaybooksReport,
  TopPlaybooksRun,
} from '../../engine/ports/analytics.js';
import { timedDbCall } from '../../observability.js';
import { COLLECTIONS } from './collections.js';
import { defineQueries, ID_INDEX, indexed } from './indexed.js';

/** The run marker's _id. */
export const LAST_RUN_ID = '#last-run';

type ReportDoc = TopPlaybooksReport & { _id: string; tenant_code?: string };
type ExecutionDoc = ExecutionRecord & { _id: string };

export const ANALYTICS_QUERIES = defineQueries('analytics', {
  // The one cross-tenant query of the service, by design: a system job that groups by tenant_code
  // and writes each tenant's rows to that tenant's own document; no tenant's request reads it.
  completedSince: {
    collection: COLLECTIONS.executions,
    index: 'status_created_pid_runtime',
    prefix: ['execution_status', 'createddate'],
    // Test runs are left out: checked on the documents the index range found (the $group reads them anyway).
    residual: ['mode'],
  },
  reportById: { collection: COLLECTIONS.topPlaybooks, index: ID_INDEX, prefix: ['_id'] },
});

interface GroupRow {
  _id: string;
  items: TopPlaybookItem[];
}

/** An AnalyticsStore over the given database. */
export function createAnalyticsStore(db: Db): AnalyticsStore {
  const execs = db.collection<ExecutionDoc>(COLLECTIONS.executions);
  const reports = db.collection<ReportDoc>(COLLECTIONS.topPlaybooks);

  return {
    async topPlaybooksByTenant(since, limit) {
      // The original Go service's pipeline, for every tenant in one pass: group first (small), then sort the groups,
      // then keep each tenant's first `limit`. One round trip (getMore only past 1000 tenants).
      // index: status_created_pid_runtime
      const rows = await timedDbCall(() =>
        execs
          .aggregate<GroupRow>(
            [
              {
                $match: indexed(ANALYTICS_QUERIES.completedSince, {
                  execution_status: 'completed',
                  createddate: { $gte: since },
                  // `$ne` also keeps the runs recorded before modes existed (live runs).
                  mode: { $ne: 'test' },
                }),
              },
              {
                $group: {
                  _id: { tenant_code: '$tenant_code', pid: '$pid' },
                  name: { $first: '$playbook_name' },
                  average: { $avg: '$playbook_runtime' },
                  count: { $sum: 1 },
                },
              },
              { $sort: { average: -1, '_id.pid': 1 } },
              {
                $group: {
                  _id: '$_id.tenant_code',
                  items: { $push: { pid: '$_id.pid', name: '$name', average: '$average', count: '$count' } },
                },
              },
              { $project: { items: { $slice: ['$items', limit] } } },
            ],
            { batchSize: 1000 },
          )
          .toArray(),
      );
      const out = new Map<string, TopPlaybookItem[]>();
      for (const row of rows) {
        // $push keeps the sorted order; sort again anyway so the result never depends on it.
        const items = row.items
          .map((i) => ({ pid: i.pid, name: i.name, average: i.average, count: i.count }))
          .sort((a, b) => b.average - a.average || (a.pid < b.pid ? -1 : 1))
          .slice(0, limit);
        out.set(row._id, items);
      }
      return out;
    },

    async saveTopPlaybooks(byTenant, run) {
      // index: _id (one ordered bulk write: the reports, the others emptied, then the marker)
      const tenants = [...byTenant.keys()];
      const ops: AnyBulkWriteOperation<ReportDoc>[] = tenants.map((tenant_code) => ({
        replaceOne: {
          filter: indexed(ANALYTICS_QUERIES.reportById, { _id: tenant_code }),
          replacement: { tenant_code, items: byTenant.get(tenant_code) ?? [], ...run },
          upsert: true,
        },
      }));
      // Tenants without completed runs in this window now have an empty report.
      ops.push({
        updateMany: {
          filter: indexed(ANALYTICS_QUERIES.reportById, { _id: { $nin: [...tenants, LAST_RUN_ID] } }),
          update: { $set: { items: [], ...run } },
        },
      });
      // The marker last (ordered): a reader never sees a new marker beside an old report.
      ops.push({
        replaceOne: {
          filter: indexed(ANALYTICS_QUERIES.reportById, { _id: LAST_RUN_ID }),
          replacement: { items: [], ...run },
          upsert: true,
        },
      });
      await timedDbCall(() => reports.bulkWrite(ops, { ordered: true }));
    },

    async loadTopPlaybooks(tenant_code) {
      // index: _id (the tenant's report and the marker in one read)
      const docs = await timedDbCall(() =>
        reports.find(indexed(ANALYTICS_QUERIES.reportById, { _id: { $in: [tenant_code, LAST_RUN_ID] } })).toArray(),
      );
      const toRun = (d: ReportDoc): TopPlaybooksRun => ({ generated_at: d.generated_at, window_days: d.window_days });
      const report = docs.find((d) => d._id === tenant_code);
      const last = docs.find((d) => d._id === LAST_RUN_ID);
      return {
        report: report ? { ...toRun(report), items: report.items } : null,
        last: last ? toRun(last) : null,
      };
    },
  };
}
