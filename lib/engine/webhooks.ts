/**
 * Managing a playbook's webhooks: create (the secret is shown once, in this answer only), list,
 * delete. Each use case takes the acting user: it is where the audit entry of the action goes.
 */
import { deriveWebhookSecret } from '../domain/webhook-signature.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { recordAudit } from './audit.js';
import { webhookEntry, webhookSource } from './audit-entries.js';
import type { AuditOutbox } from './ports/audit.js';
import type { PlaybookSource } from './ports/playbook-source.js';
import type { StoredWebhook, WebhookKeySource, WebhookStore } from './ports/webhooks.js';
import { checkMappings, type WebhookMappings } from './webhook-mappings.js';

/** A playbook has at most this many webhooks (one per sending system is the usual need). */
export const MAX_WEBHOOKS_PER_PLAYBOOK = 20;

export interface WebhookDeps {
  hooks: WebhookStore;
  /** The tenant's playbooks as stored (management reads: read-your-writes). */
  playbooks: PlaybookSource;
  key: WebhookKeySource;
  clock: () => number;
  /** A new hook id (`wh_` + 128 random bits) and a new salt. */
  newHookId: () => string;
  newSalt: () => string;
  /** Where the audit entries of creates and deletes go. */
  audit: AuditOutbox;
}

/** Who acts: the tenant and the JWT's `sub`. */
export interface Actor {
  tenant_code: string;
  sub: string;
}

export interface WebhookView {
  hook_id: string;
  url: string;
  playbook_name: string;
  created_at: number;
  alert_id?: string;
  alert?: string;
}

export function hookUrl(hook_id: string): string {
  return `/hooks/${hook_id}`;
}

function view(h: StoredWebhook): WebhookView {
  return {
    hook_id: h.hook_id,
    url: hookUrl(h.hook_id),
    playbook_name: h.playbook_name,
    created_at: h.created_at,
    ...(h.alert_id !== undefined ? { alert_id: h.alert_id } : {}),
    ...(h.alert !== undefined ? { alert: h.alert } : {}),
  };
}

async function existingPlaybook(deps: WebhookDeps, tenant_code: string, name: string): Promise<void> {
  if (!(await deps.playbooks.getByName(tenant_code, name))) throw new NotFoundError(`playbook '${name}' not found`);
}

/** Creates a webhook of the actor's playbook; the answer is the only place its secret appears. */
export async function createWebhook(
  deps: WebhookDeps,
  actor: Actor,
  playbook_name: string,
  mappings: WebhookMappings,
): Promise<WebhookView & { secret: string }> {
  checkMappings(mappings);
  await existingPlaybook(deps, actor.tenant_code, playbook_name);
  const existing = await deps.hooks.listByPlaybook(actor.tenant_code, playbook_name, MAX_WEBHOOKS_PER_PLAYBOOK);
  if (existing.length >= MAX_WEBHOOKS_PER_PLAYBOOK) {
    throw new ConflictError(`playbook '${playbook_name}' has ${MAX_WEBHOOKS_PER_PLAYBOOK} webhooks already`, [
      { path: 'name', message: `at most ${MAX_WEBHOOKS_PER_PLAYBOOK} webhooks per playbook; delete one first` },
    ]);
  }
  const hook: StoredWebhook = {
    hook_id: deps.newHookId(),
    tenant_code: actor.tenant_code,
    playbook_name,
    salt: deps.newSalt(),
    ...(mappings.alert_id !== undefined ? { alert_id: mappings.alert_id } : {}),
    ...(mappings.alert !== undefined ? { alert: mappings.alert } : {}),
    created_at: deps.clock(),
    created_by: actor.sub,
  };
  const secret = deriveWebhookSecret(await deps.key.key(), hook.hook_id, hook.salt);
  const entry = webhookEntry('webhook.create', hook, actor.sub, hook.created_at);
  await deps.hooks.insert(hook, entry);
  await recordAudit(deps.audit, webhookSource(hook), entry);
  return { ...view(hook), secret };
}

/** The webhooks of the tenant's playbook, oldest first (never their secrets). */
export async function listWebhooks(
  deps: WebhookDeps,
  tenant_code: string,
  playbook_name: string,
): Promise<{ items: WebhookView[] }> {
  await existingPlaybook(deps, tenant_code, playbook_name);
  const hooks = await deps.hooks.listByPlaybook(tenant_code, playbook_name, MAX_WEBHOOKS_PER_PLAYBOOK);
  return { items: hooks.map(view) };
}

/** Deletes a webhook: its URL answers 401 from now on, as for a hook that never existed. */
export async function deleteWebhook(
  deps: WebhookDeps,
  actor: Actor,
  playbook_name: string,
  hook_id: string,
): Promise<void> {
  const ref = { hook_id, tenant_code: actor.tenant_code, playbook_name };
  const entry = webhookEntry('webhook.delete', ref, actor.sub, deps.clock());
  if (!(await deps.hooks.remove(actor.tenant_code, playbook_name, hook_id, entry))) {
    throw new NotFoundError(`playbook '${playbook_name}' has no webhook '${hook_id}'`);
  }
  await recordAudit(deps.audit, webhookSource(ref, true), entry);
}
