/** Playbook definitions and their version history, as the management API reads and writes them. */
import type { AuditEntry } from '../../domain/audit.js';
import type { StoredPlaybook } from '../model.js';

export interface PlaybookListQuery {
  status?: StoredPlaybook['status'];
  category_id?: string;
  /** Names strictly after this one (the previous page's last name). */
  after?: string;
  limit: number;
}

/** A playbook without its task list (list pages stay small whatever the definitions weigh). */
export type PlaybookSummary = Omit<StoredPlaybook, 'tasks'>;

/** One version in a playbook's history. */
export type PlaybookVersionSummary = Pick<StoredPlaybook, 'version' | 'updateddate' | 'updated_by'>;

export interface PlaybookStore {
  /**
   * Inserts a new playbook; ConflictError if the tenant already has that name. `audit` is
   * written pending on the playbook in the same insert (lib/engine/audit.ts).
   */
  create(playbook: StoredPlaybook, audit?: AuditEntry): Promise<void>;
  /** The tenant's current playbook of that name (a deleted one is not). */
  findByName(tenant_code: string, name: string): Promise<StoredPlaybook | null>;
  /** The tenant's playbooks by name, at most `limit`. */
  list(tenant_code: string, query: PlaybookListQuery): Promise<PlaybookSummary[]>;
  /**
   * Archives `current` in the version history, then replaces it with `next` (and `audit`,
   * pending) only if it is still at `current.version`; false when another writer got there
   * first (nothing replaced).
   */
  replace(current: StoredPlaybook, next: StoredPlaybook, audit?: AuditEntry): Promise<boolean>;
  /**
   * Archives `current`, then deletes it only if still at `current.version`; false on a lost
   * race. With `audit`, the deletion is a tombstone carrying the entry (gone for every
   * reader at once), removed when the entry is published.
   */
  remove(current: StoredPlaybook, audit?: AuditEntry): Promise<boolean>;
  /** Archived versions of playbook `pid` below `before`, newest first, at most `limit`. */
  listVersions(
    tenant_code: string,
    pid: string,
    query: { before: number; limit: number },
  ): Promise<PlaybookVersionSummary[]>;
  /** One archived version of playbook `pid`, or null. */
  getVersion(tenant_code: string, pid: string, version: number): Promise<StoredPlaybook | null>;
}
