/** Run storage and the task queue (MongoDB + SQS): what every run-handling function needs. */
import { createRunStore } from '../adapters/mongo/run-store.js';
import { createUndoStore } from '../adapters/mongo/undo-store.js';
import { createTaskQueue } from '../adapters/sqs/task-queue.js';
import { getDb } from '../clients/mongo.js';
import { getSqs } from '../clients/sqs.js';
import { getConfig } from '../config.js';
import type { RunStore } from '../engine/ports/run-store.js';
import type { TaskQueue } from '../engine/ports/task-queue.js';
import type { UndoStore } from '../engine/ports/undo.js';
import { once } from './once.js';

export const runStore: () => RunStore = once(() =>
  createRunStore(getDb(), { updatePipelines: getConfig('mongo').MONGO_UPDATE_PIPELINES }),
);
export const taskQueue: () => TaskQueue = once(() => createTaskQueue(getSqs(), getConfig('queue').TASK_QUEUE_URL));
/** Containments: the undo state of tasks and the rollback mark of runs (docs/containment.md). */
export const undoStore: () => UndoStore = once(() => createUndoStore(getDb()));
