/**
 * The run-store contract on the MongoDB adapter, against the local server: as configured (update
 * pipelines found out on first use) and with them off (the classic closing updates only).
 */
import { createRunStore } from '../../lib/adapters/mongo/run-store.js';
import { getDb } from '../../lib/clients.js';
import { runStoreContract } from '../contract/run-store.contract.js';

runStoreContract('mongo', () => createRunStore(getDb()));
runStoreContract('mongo, update pipelines off', () => createRunStore(getDb(), { updatePipelines: 'off' }));
