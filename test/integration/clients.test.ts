/** Clients are built once per container and reused; an unreachable database fails fast and clearly. */
import { describe, expect, it } from 'vitest';
import * as clients from '../../lib/clients.js';
import { parseConfigSection } from '../../lib/config.js';
import { api } from '../support/api.js';
import { createHarness } from '../support/harness.js';

describe('module-scope clients', () => {
  it('a second invocation reuses the same client objects', async () => {
    const h = await createHarness();
    try {
      await h.createPlaybook({ name: 'reuse', tasks: [{ id: 'a', type: 'noop' }] });
      await h.startRun('reuse');
      const first = {
        mongo: clients.getMongoClient(),
        sqs: clients.getSqs(),
        dynamo: clients.getDynamoDb(),
        redis: clients.getRedis(),
        agents: clients.getHttpAgents(),
      };
      await h.startRun('reuse');
      expect((await api('GET', '/playbooks/reuse', { token: h.tokenA })).status).toBe(200);
      expect(clients.getMongoClient()).toBe(first.mongo);
      expect(clients.getSqs()).toBe(first.sqs);
      expect(clients.getDynamoDb()).toBe(first.dynamo);
      expect(clients.getRedis()).toBe(first.redis);
      expect(clients.getHttpAgents()).toBe(first.agents);
    } finally {
      await h.close();
    }
  });
});

describe('unreachable MongoDB', () => {
  it('fails the first call with a clear error within the server-selection timeout', async () => {
    const cfg = parseConfigSection('mongo', {
      MONGO_URI: 'mongodb://127.0.0.1:1',
      MONGO_DB: 'nowhere',
      MONGO_SERVER_SELECTION_TIMEOUT_MS: '1500',
    });
    const client = clients.createMongoClient(cfg);
    const started = Date.now();
    try {
      await expect(client.db('nowhere').collection('x').findOne({})).rejects.toThrow(
        /ECONNREFUSED|Server selection timed out/,
      );
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1_000);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      await client.close();
    }
  });

  it('config validation names the bad variable', () => {
    expect(() => parseConfigSection('mongo', { MONGO_URI: 'http://x', MONGO_DB: 'db' })).toThrow(/MONGO_URI/);
    expect(() => parseConfigSection('queue', {})).toThrow(/TASK_QUEUE_URL/);
    expect(() => parseConfigSection('auth', {})).toThrow(/AUTH_JWT_SECRET/);
  });
});
