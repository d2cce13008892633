/** Webhooks: their store, the service's key their secrets derive from, and the per-hook rate limit. */

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
  insert(hook: StoredWebhook): Promise<void>;
  /** By id alone: a delivery names only its hook (the id is 128 random bits). */
  findById(hook_id: string): Promise<StoredWebhook | null>;
  /** A playbook's hooks, oldest first, at most `limit`. */
  listByPlaybook(tenant_code: string, playbook_name: string, limit: number): Promise<StoredWebhook[]>;
  /** Deletes one hook of the tenant's playbook; false when there is none. */
  remove(tenant_code: string, playbook_name: string, hook_id: string): Promise<boolean>;
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
