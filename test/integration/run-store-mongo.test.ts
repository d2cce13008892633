/** The run-store contract on the MongoDB adapter, against the local server. */
import { createRunStore } from '../../lib/adapters/mongo/run-store.js';
import { getDb } from '../../lib/clients.js';
import { runStoreContract } from '../contract/run-store.contract.js';

runStoreContract('mongo', () => createRunStore(getDb()));
