/**
 * The audit log (docs/audit.md). A change and its entry are written together by an
 * outbox: the one single-document write that makes the change also appends the entry
 * to that document's `audit_pending` list; `recordAudit` then copies it into the log
 * (idempotently, keyed by the entry's deterministic id) and clears it there. A crash
 * in between leaves the entry pending on the changed document, where GET /audit (after
 * a grace) and the scheduled sweep find it and finish the copy. No multi-document
 * transaction is needed, so the same code runs on MongoDB and on the local emulator.
 */
import { type AuditAction, type AuditEntry, assertAuditDetails } from '../domain/audit.js';
import { logger, MetricUnit, metrics } from '../observability.js';

export type { AuditAction, AuditEntry } from '../domain/audit.js';

/**
 * The kinds of document that carry pending entries (each adapter maps a kind to its
 * collection). A new audited resource adds its kind here and in the adapter.
 */
export type AuditSourceKind = 'playbook' | 'execution' | 'task';

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

/** What a use case needs to audit a change: where to publish, and who made it. */
export interface AuditContext {
  outbox: AuditOutbox;
  actor: string;
}

/** An entry with a checked `details` map. */
export function auditEntry(entry: AuditEntry): AuditEntry {
  assertAuditDetails(entry.details);
  return entry;
}

/**
 * The one call a use case makes after the write that carried `entry` succeeded. It never
 * throws: the change is already made and its entry durable on the changed document, so a
 * failure here only delays the copy into the log (GET /audit and the sweep finish it).
 */
export async function recordAudit(outbox: AuditOutbox, source: AuditSource, entry: AuditEntry): Promise<void> {
  try {
    await outbox.publish(source, [entry]);
  } catch (err) {
    metrics.addMetric('AuditEntriesLeftPending', MetricUnit.Count, 1);
    logger.warn('audit entry left pending on its document', {
      entry_id: entry.id,
      action: entry.action,
      kind: source.kind,
      error: err as Error,
    });
  }
}

export interface AuditPage {
  items: Array<Omit<AuditEntry, 'tenant_code'>>;
  next: string | null;
}

/** Opaque cursor: the last item's (at, id). */
export function encodeAuditCursor(e: { at: number; id: string }): string {
  return Buffer.from(JSON.stringify([e.at, e.id])).toString('base64url');
}

/** Decodes a cursor made by encodeAuditCursor; undefined when it is not one. */
export function decodeAuditCursor(cursor: string): { at: number; id: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string') {
      if (v[0] >= 0 && v[1].length > 0 && v[1].length <= 200) return { at: v[0] as number, id: v[1] };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * A page of the tenant's log, newest first. Entries left pending by a writer that died
 * (pending for longer than `graceMs`, so no live request will copy them) are copied first;
 * younger ones belong to requests still running, which copy them before they answer.
 */
export async function listAudit(
  log: AuditLog,
  tenant_code: string,
  query: AuditQuery,
  opts: { now: number; graceMs: number },
): Promise<AuditPage> {
  const flushed = await log.flushTenant(tenant_code, opts.now - opts.graceMs);
  if (flushed > 0) logger.warn('audit entries left pending were published by a reader', { count: flushed });
  const rows = await log.list(tenant_code, { ...query, limit: query.limit + 1 });
  const items = rows.slice(0, query.limit).map(({ tenant_code: _t, ...rest }) => rest);
  const last = items[items.length - 1];
  return { items, next: rows.length > query.limit && last ? encodeAuditCursor(last) : null };
}

/** The scheduled sweep: publishes what crashed writers left pending (older than `graceMs`). */
export async function sweepAudit(log: AuditLog, opts: { now: number; graceMs: number; limit: number }) {
  const published = await log.sweep(opts.now - opts.graceMs, opts.limit);
  if (published > 0) {
    metrics.addMetric('AuditEntriesSwept', MetricUnit.Count, published);
    logger.warn('audit sweep published entries left pending', { count: published });
  }
  return { published };
}
