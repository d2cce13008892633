/**
 * `npm run db:migrate`: creates every index declared in lib/adapters/mongo/collections.ts
 * in MONGO_URI / MONGO_DB (default: the local stack and `npm start`'s database). Idempotent: an existing identical index is left as it is; an index
 * of the same name with another key fails loudly instead of being silently replaced. The audit
 * log's TTL index takes AUDIT_RETENTION_DAYS (default 365); a changed value is applied in place.
 * Indexes found but not declared are listed, never dropped (an operator decides).
 */
import { ensureIndexes, INDEXES } from '../lib/adapters/mongo/collections.js';
import { createMongoClient } from '../lib/clients.js';
import { indexSettings, parseConfigSection } from '../lib/config.js';
import { redact, stackEndpoints } from './lib/stack/index.mjs';

const cfg = parseConfigSection('mongo', {
  MONGO_URI: stackEndpoints().mongoUri,
  MONGO_DB: 'playbook_service',
  ...process.env,
});
console.log(`[migrate] ${redact(cfg.MONGO_URI)} database ${cfg.MONGO_DB}`);
const client = createMongoClient(cfg);
try {
  const db = client.db(cfg.MONGO_DB);
  const settings = indexSettings(parseConfigSection('audit', process.env));
  const ensured = await ensureIndexes(db, settings);
  for (const name of ensured) console.log(`[migrate] ok ${name}`);
  const declared = new Set(INDEXES.map((i) => `${i.collection}.${i.name}`));
  for (const collection of new Set(INDEXES.map((i) => i.collection))) {
    for (const index of await db.collection(collection).listIndexes().toArray()) {
      const id = `${collection}.${String(index.name)}`;
      if (index.name !== '_id_' && !declared.has(id)) console.log(`[migrate] undeclared index ${id} (left in place)`);
    }
  }
  console.log(`[migrate] ${ensured.length} indexes in ${cfg.MONGO_DB}`);
} finally {
  await client.close();
}
