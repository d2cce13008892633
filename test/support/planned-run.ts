/** A run planned by the product's planRun from a playbook body, for unit tests of the engine's decisions. */
import { parsePlaybook } from '../../lib/domain/playbook-validation.js';
import type { StoredPlaybook } from '../../lib/engine/model.js';
import { planRun } from '../../lib/engine/start-run.js';

/** Plans a run of playbook `p` (tenant `t`) with `tasks`, at time 0. */
export function planTestRun(tasks: unknown[], peid: string) {
  const parsed = parsePlaybook({ name: 'p', tasks });
  const playbook = { ...parsed, pid: 'pid', tenant_code: 't', version: 1, createddate: 0, updateddate: 0 };
  return planRun(
    playbook as StoredPlaybook,
    { playbook_name: 'p', alert_id: 'a', alert: {} },
    { tenant_code: 't', sub: 's' },
    peid,
    0,
  );
}
