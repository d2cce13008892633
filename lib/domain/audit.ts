/**
 * The audit log's vocabulary: the actions it records, who can be an actor, and the
 * shape of an entry. Entries hold ids, versions, counts and statuses only: `details`
 * is a flat map of short scalars, so no alert, output or secret can be nested in one.
 */

/** Every action the log knows (the contract's list); GET /audit?action= takes one of these. */
export const AUDIT_ACTIONS = [
  'playbook.create',
  'playbook.update',
  'playbook.delete',
  'playbook.restore',
  'run.start',
  'run.cancel',
  'run.redrive',
  'run.rollback',
  'approval.respond',
  'webhook.create',
  'webhook.delete',
  'schedule.set',
  'schedule.delete',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One detail value: a scalar, strings at most 256 characters. */
export type AuditDetailValue = string | number | boolean | null;
export type AuditDetails = Readonly<Record<string, AuditDetailValue>>;

/** An entry as recorded (`id` is deterministic: the change it records, so a copy made twice is one entry). */
export interface AuditEntry {
  id: string;
  tenant_code: string;
  /** When the change was made (epoch ms). */
  at: number;
  actor: string;
  action: AuditAction;
  /** What changed, `<kind>:<id>`: `playbook:<name>`, `execution:<peid>`, `webhook:<hook_id>`, ... */
  target: string;
  details: AuditDetails;
}

/** Actors that are not a user: the engine's own triggers. A token's `sub` can never be one of these. */
export const SYSTEM_ACTORS = { schedule: 'schedule', callback: 'callback' } as const;
const WEBHOOK_PREFIX = 'webhook:';

/** The actor of a change made through webhook `hookId`. */
export function webhookActor(hookId: string): string {
  return `${WEBHOOK_PREFIX}${hookId}`;
}

/** C0 and C1 control characters, and the two Unicode line separators. */
function hasControl(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/**
 * Why a token's `sub` cannot be an actor, or null if it can: 1-256 characters without control
 * characters (log lines stay one line), and not a name the engine's own triggers use, so
 * nobody can appear in the log as the scheduler or a webhook.
 */
export function userActorProblem(sub: string): string | null {
  if (sub.length === 0 || sub.length > 256) return 'must be 1-256 characters';
  if (hasControl(sub)) return 'must not contain control characters';
  if (Object.values<string>(SYSTEM_ACTORS).includes(sub) || sub.startsWith(WEBHOOK_PREFIX)) {
    return 'is reserved for the engine';
  }
  return null;
}

const DETAIL_KEY = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_DETAILS = 16;
const MAX_STRING = 256;

/** Throws (a programming error, never user input) if `details` is not a small flat map of short scalars. */
export function assertAuditDetails(details: Record<string, unknown>): asserts details is AuditDetails {
  const keys = Object.keys(details);
  if (keys.length > MAX_DETAILS) throw new Error(`audit details: at most ${MAX_DETAILS} keys`);
  for (const k of keys) {
    const v = details[k];
    if (!DETAIL_KEY.test(k)) throw new Error(`audit details: bad key '${k}'`);
    const ok =
      v === null ||
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isFinite(v)) ||
      (typeof v === 'string' && v.length <= MAX_STRING);
    if (!ok) throw new Error(`audit details: '${k}' must be a scalar (strings up to ${MAX_STRING} characters)`);
  }
}
