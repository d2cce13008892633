/**
 * `npm run db:migrate` creates every declared index with its options (unique, sparse, the audit
 * log's TTL from AUDIT_RETENTION_DAYS), and running it again changes nothing. The local MongoDB
 * emulator stores TTL indexes but never expires documents: what is checked is the index.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { INDEXES, indexOptions } from '../../lib/adapters/mongo/collections.js';

const run = promisify(execFile);
// A database of its own: the file's database already has its indexes (integration-env.ts).
const dbName = `migrate_${randomUUID().slice(0, 8)}`;
const mongo = new MongoClient(process.env.MONGO_URI ?? '');

afterAll(async () => {
  await mongo.db(dbName).dropDatabase();
  await mongo.close();
});

/** A retention other than the default, as an operator would configure it. */
const RETENTION_DAYS = 30;

async function migrate(): Promise<string> {
  const { stdout } = await run('npm', ['run', '-s', 'db:migrate'], {
    env: { ...process.env, MONGO_DB: dbName, AUDIT_RETENTION_DAYS: String(RETENTION_DAYS) },
    timeout: 60_000,
  });
  return stdout;
}

const describeIndex = (
  collection: string,
  ix: { name?: unknown; key?: unknown; unique?: unknown; sparse?: unknown; expireAfterSeconds?: unknown },
) =>
  `${collection}.${ix.name}:${JSON.stringify(ix.key)}${ix.unique ? ':unique' : ''}${ix.sparse ? ':sparse' : ''}${
    ix.expireAfterSeconds !== undefined ? `:ttl=${ix.expireAfterSeconds}` : ''
  }`;

async function indexSet(): Promise<string[]> {
  const out: string[] = [];
  for (const collection of new Set(INDEXES.map((i) => i.collection))) {
    for (const ix of await mongo.db(dbName).collection(collection).listIndexes().toArray()) {
      out.push(describeIndex(collection, ix));
    }
  }
  return out.sort();
}

describe('db:migrate', () => {
  it('creates every declared index; a second run gives the same set without error', async () => {
    const first = await migrate();
    expect(first).toContain(`${INDEXES.length} indexes in ${dbName}`);
    const after1 = await indexSet();
    const settings = { auditRetentionSeconds: RETENTION_DAYS * 86_400 };
    const expected = INDEXES.map((i) => describeIndex(i.collection, { ...indexOptions(i, settings), key: i.key }));
    // The audit log's retention, as configured.
    expect(after1).toContain(`audit_log.audit_expiry:{"at_date":1}:ttl=${RETENTION_DAYS * 86_400}`);
    expect(after1).toEqual(expect.arrayContaining(expected));
    // Nothing but the declared indexes and each collection's _id index.
    expect(after1.filter((x) => !x.includes('._id_:'))).toEqual([...expected].sort());

    const second = await migrate();
    expect(second).not.toContain('undeclared');
    expect(await indexSet()).toEqual(after1);
  });
});
