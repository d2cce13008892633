/** `npm run db:migrate` creates every declared index, and running it again changes nothing. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { INDEXES } from '../../lib/adapters/mongo/collections.js';

const run = promisify(execFile);
// A database of its own: the file's database already has its indexes (integration-env.ts).
const dbName = `migrate_${randomUUID().slice(0, 8)}`;
const mongo = new MongoClient(process.env.MONGO_URI ?? '');

afterAll(async () => {
  await mongo.db(dbName).dropDatabase();
  await mongo.close();
});

async function migrate(): Promise<string> {
  const { stdout } = await run('npm', ['run', '-s', 'db:migrate'], {
    env: { ...process.env, MONGO_DB: dbName },
    timeout: 60_000,
  });
  return stdout;
}

async function indexSet(): Promise<string[]> {
  const out: string[] = [];
  for (const collection of new Set(INDEXES.map((i) => i.collection))) {
    for (const ix of await mongo.db(dbName).collection(collection).listIndexes().toArray()) {
      out.push(`${collection}.${ix.name}:${JSON.stringify(ix.key)}${ix.unique ? ':unique' : ''}`);
    }
  }
  return out.sort();
}

describe('db:migrate', () => {
  it('creates every declared index; a second run gives the same set without error', async () => {
    const first = await migrate();
    expect(first).toContain(`${INDEXES.length} indexes in ${dbName}`);
    const after1 = await indexSet();
    const expected = INDEXES.map(
      (i) => `${i.collection}.${i.name}:${JSON.stringify(i.key)}${i.unique ? ':unique' : ''}`,
    );
    expect(after1).toEqual(expect.arrayContaining(expected));
    // Nothing but the declared indexes and each collection's _id index.
    expect(after1.filter((x) => !x.includes('._id_:'))).toEqual([...expected].sort());

    const second = await migrate();
    expect(second).not.toContain('undeclared');
    expect(await indexSet()).toEqual(after1);
  });
});
