/** Webhooks: their store, the service's key their secrets derive from, and the per-hook rate limit. */
import type { AuditEntry } from '../../domain/audit.js';

/** A playbook's webhook. No secret: it is derived from the service's key, the id and the salt. */
export interface StoredWebhook {
  hook_id: string;
  tenant_code: string;
  playbook_name: string;
  salt: string;
  /** Template mappings over the request body (`{{ jsonata }}`); absent: a new id / the whole body. */
  alert_id?: string;
  alert?: string;
  created_at: number;
  created_by: string;
}

export interface WebhookStore {
  /** Inserts a hook; `audit` is written pending on it in the same insert (lib/engine/audit.ts). */
  insert(hook: StoredWebhook, audit?: AuditEntry): Promise<void>;
  /** By id alone: a delivery names only its hook (the id is 128 random bits). A deleted hook is not found. */
  findById(hook_id: string): Promise<StoredWebhook | null>;
  /** A playbook's hooks, oldest first, at most `limit`. */
  listByPlaybook(tenant_code: string, playbook_name: string, limit: number): Promise<StoredWebhook[]>;
  /**
   * Deletes one hook of the tenant's playbook; false when there is none. With `audit`, the deletion
   * is a tombstone carrying the entry (gone for every reader at once), removed when it is published.
   */
  remove(tenant_code: string, playbook_name: string, hook_id: string, audit?: AuditEntry): Promise<boolean>;
}

/** The service's webhook key (the secrets are derived from it). */
export interface WebhookKeySource {
  key(): Promise<Uint8Array>;
}

/** A per-hook request budget, shared by every container. */
export interface WebhookRateLimiter {
  /** Takes one request from the hook's budget: allowed, or how long until one is available. */
  take(hook_id: string): Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }>;
}
