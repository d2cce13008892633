/** The current definitions of playbooks, as runs start them (the two-level cache, or the store). */
import type { StoredPlaybook } from '../model.js';

export interface PlaybookSource {
  /** The current definition of a tenant's playbook, or null. */
  getByName(tenant_code: string, name: string): Promise<StoredPlaybook | null>;
}
