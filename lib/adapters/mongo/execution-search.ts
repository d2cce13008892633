/** GET /executions: the MongoDB filter of a run search (served by the run store's declared queries). */
import type { Document } from 'mongodb';
import { EXECUTION_STATUSES } from '../../domain/statuses.js';
import type { ExecutionQuery } from '../../engine/ports/run-records.js';

/** Runs recorded before modes and triggers existed have neither field: they were live runs of the API. */
const LEGACY_DEFAULT = { mode: 'live', 'trigger.type': 'api' } as const;

/**
 * The search field (if any) and the filter of a run search (ExecutionQuery says which combine):
 * the run store picks the field's query spec, whose `indexed()` check applies to this filter.
 */
export function executionSearch(tenant_code: string, query: ExecutionQuery): { field?: string; where: Document } {
  const fields: Array<[string, string | undefined]> = [
    ['playbook_name', query.playbook_name],
    ['alert_id', query.alert_id],
    ['trigger.type', query.trigger],
    ['mode', query.mode],
  ];
  const given = fields.filter(([, value]) => value !== undefined);
  // The HTTP edge answers 400 before this: reaching it is a programming error.
  if (given.length > 1) throw new Error(`a run search names ${given.length} search fields; at most one is served`);
  const where: Record<string, unknown> = { tenant_code };
  const [field, value] = given[0] ?? [];
  if (field !== undefined) {
    const legacy = (LEGACY_DEFAULT as Record<string, string>)[field];
    where[field] = value === legacy ? { $in: [value, null] } : value;
    // All four statuses when none is asked for: the index's ranges are merged in createddate order.
    where.execution_status = query.status ?? { $in: [...EXECUTION_STATUSES] };
  } else if (query.status) {
    where.execution_status = query.status;
  }
  if (query.since !== undefined || query.until !== undefined) {
    where.createddate = {
      ...(query.since !== undefined ? { $gte: query.since } : {}),
      ...(query.until !== undefined ? { $lt: query.until } : {}),
    };
  }
  if (query.before) {
    const { createddate, peid } = query.before;
    where.$or = [{ createddate: { $lt: createddate } }, { createddate, peid: { $lt: peid } }];
  }
  return { ...(field !== undefined ? { field } : {}), where };
}
