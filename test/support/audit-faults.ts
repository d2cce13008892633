/**
 * Faults for the audit outbox tests (docs/audit.md): an outbox whose publish never returns, as if
 * the process died there (before copying the entries into the log, or after), and reads of the
 * log and of the pending entries straight from the database (no recovery involved).
 */
import { expect } from 'vitest';
import { appendEntries, OUTBOX_COLLECTIONS } from '../../lib/adapters/mongo/audit-outbox.js';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { getDb } from '../../lib/clients.js';
import type { AuditEntry } from '../../lib/domain/audit.js';
import type { AuditOutbox } from '../../lib/engine/ports/audit.js';

/** An outbox whose publish never returns: the process died there (after copying the entries, if `copied`). */
export function dyingOutbox(copied: boolean): { outbox: AuditOutbox; reached: Promise<AuditEntry[]> } {
  let reach: (e: AuditEntry[]) => void = () => undefined;
  const reached = new Promise<AuditEntry[]>((r) => {
    reach = r;
  });
  const outbox: AuditOutbox = {
    async publish(_source, entries) {
      if (copied) await appendEntries(getDb(), entries);
      reach(entries);
      await new Promise(() => undefined);
    },
  };
  return { outbox, reached };
}

/** Starts `work` (which will not finish) and waits until its writer "died" in publish; its one entry. */
export async function dieInPublish(
  copied: boolean,
  work: (outbox: AuditOutbox) => Promise<unknown>,
): Promise<AuditEntry> {
  const { outbox, reached } = dyingOutbox(copied);
  void work(outbox).catch(() => undefined);
  const entries = await reached;
  expect(entries).toHaveLength(1);
  return entries[0] as AuditEntry;
}

/** Entries of the log with this id (read directly: no recovery involved). */
export async function inLog(id: string): Promise<number> {
  return getDb()
    .collection(COLLECTIONS.audit)
    .countDocuments({ _id: id as never });
}

/** The ids of entries pending on any document of every audited collection. */
export async function pendingIds(): Promise<string[]> {
  const out: string[] = [];
  for (const c of new Set(Object.values(OUTBOX_COLLECTIONS))) {
    const docs = await getDb()
      .collection<{ audit_pending?: AuditEntry[] }>(c)
      .find({ 'audit_pending.0': { $exists: true } })
      .toArray();
    for (const d of docs) out.push(...(d.audit_pending ?? []).map((e) => e.id));
  }
  return out;
}
