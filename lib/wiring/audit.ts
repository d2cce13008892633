/** The audit log and its outbox (MongoDB). */
import { createAuditLog } from '../adapters/mongo/audit-store.js';
import { getDb } from '../clients/mongo.js';
import type { AuditLog } from '../engine/ports/audit.js';
import { once } from './once.js';

export const auditLog: () => AuditLog = once(() => createAuditLog(getDb()));
