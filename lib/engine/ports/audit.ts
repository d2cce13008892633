/** The audit log and its outbox (lib/engine/audit.ts, docs/audit.md). */
import type { AuditAction, AuditEntry } from '../../domain/audit.js';

/**
 * The kinds of document that carry pending entries (each adapter maps a kind to its
 * collection). A new audited resource adds its kind here and in the adapter.
 */
export type AuditSourceKind = 'playbook' | 'execution' | 'task' | 'webhook' | 'schedule';

/** The document whose write carried the entries. */
export interface AuditSource {
  kind: AuditSourceKind;
  /** The document's key (pid, peid, ...). */
  id: string;
  tenant_code: string;
  /** The write was a deletion: the document is a tombstone, removed once its entries are in the log. */
  tombstone?: boolean;
}

/** The port of the use cases that change something. */
export interface AuditOutbox {
  /**
   * Copies `entries`, written pending on `source` together with their change, into the log
   * and clears them there (with any other entries left pending on it). Idempotent: an entry
   * already in the log is not copied twice. A source that is a tombstone (a deletion) is
   * removed once its entries are in the log.
   */
  publish(source: AuditSource, entries: AuditEntry[]): Promise<void>;
}

export interface AuditQuery {
  since?: number;
  until?: number;
  action?: AuditAction;
  limit: number;
  before?: { at: number; id: string };
}

/** The port of GET /audit and of the sweep. */
export interface AuditLog extends AuditOutbox {
  /** The tenant's entries, newest first (at, then id, descending). */
  list(tenant_code: string, query: AuditQuery): Promise<AuditEntry[]>;
  /** Publishes the tenant's entries pending since before `cutoff`; how many. */
  flushTenant(tenant_code: string, cutoff: number): Promise<number>;
  /** Publishes up to `limit` sources' entries pending since before `cutoff`, all tenants; how many entries. */
  sweep(cutoff: number, limit: number): Promise<number>;
}
