/** The run-store contract on the in-memory store of the engine's unit tests. */

import { runStoreContract } from '../contract/run-store.contract.js';
import { createMemoryRunStore } from '../support/memory-run-store.js';

runStoreContract('memory', () => createMemoryRunStore());
