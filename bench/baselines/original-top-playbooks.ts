/**
 * The original Go service's two top-playbooks pipelines (its averagePlaybookRunTime
 * query), copied here so the bench compares exactly what that service described:
 * BEFORE sorts every matching execution by date before grouping; AFTER groups first.
 * Also the "compute it per request" baseline of the analytics read.
 */
import type { Db, Document } from 'mongodb';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';

/** The original service's match query: a tenant's completed runs in the window. */
export function topPlaybooksMatch(tenant_code: string, since: number): Document {
  return { tenant_code, execution_status: 'completed', createddate: { $gte: since } };
}

/** The original service's BEFORE pipeline: match, sort by createddate, group, sort, limit. */
export function originalBeforePipeline(match: Document): Document[] {
  return [
    { $match: match },
    { $sort: { createddate: -1 } },
    { $group: { _id: '$pid', name: { $first: '$playbook_name' }, average: { $avg: '$playbook_runtime' } } },
    { $sort: { average: -1 } },
    { $limit: 5 },
  ];
}

/** The original service's AFTER pipeline: match, group first (with a count), sort, limit, project. */
export function originalAfterPipeline(match: Document): Document[] {
  return [
    { $match: match },
    {
      $group: {
        _id: '$pid',
        name: { $first: '$playbook_name' },
        average: { $avg: '$playbook_runtime' },
        count: { $sum: 1 },
      },
    },
    { $sort: { average: -1 } },
    { $limit: 5 },
    { $project: { name: 1, average: 1, count: 1 } },
  ];
}

export interface TopPlaybook {
  pid: string;
  name: string;
  average: number;
  count?: number;
}

/** Runs one of the pipelines for a tenant over the executions collection. */
export async function topPlaybooks(db: Db, pipeline: Document[]): Promise<TopPlaybook[]> {
  const rows = await db.collection(COLLECTIONS.executions).aggregate(pipeline).toArray();
  return rows.map((r) => ({
    pid: String(r._id),
    name: String(r.name),
    average: Number(r.average),
    ...(r.count === undefined ? {} : { count: Number(r.count) }),
  }));
}
