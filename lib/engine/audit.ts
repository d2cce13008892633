/**
 * The audit log (docs/audit.md). A change and its entry are written together by an
 * outbox: the one single-document write that makes the change also appends the entry
 * to that document's `audit_pending` list; `recordAudit` then copies it into the log
 * (idempotently, keyed by the entry's deterministic id) and clears it there. A crash
 * in between leaves the entry pending on the changed document, where GET /audit (after
 * a grace) and the scheduled sweep find it and finish the copy. No multi-document
 * transaction is needed, so the same code runs on MongoDB and on the local emulator.
 */
import { type AuditEntry, assertAuditDetails } from '../domain/audit.js';
import { logger, MetricUnit, metrics } from '../observability.js';
import { decodeCursorPair, encodeCursorPair, pageOf } from './cursor.js';
import type { AuditLog, AuditOutbox, AuditQuery, AuditSource } from './ports/audit.js';

export type { AuditAction, AuditEntry } from '../domain/audit.js';

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
  return encodeCursorPair(e.at, e.id);
}

/** Decodes a cursor made by encodeAuditCursor; undefined when it is not one. */
export function decodeAuditCursor(cursor: string): { at: number; id: string } | undefined {
  const pair = decodeCursorPair(cursor, (at, id) => at >= 0 && id.length > 0 && id.length <= 200);
  return pair && { at: pair[0], id: pair[1] };
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
  return pageOf(
    rows.map(({ tenant_code: _t, ...rest }) => rest),
    query.limit,
    encodeAuditCursor,
  );
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
