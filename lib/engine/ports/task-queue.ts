/** The queue of task messages (SQS). */
import type { TaskMessage } from '../model.js';

export interface OutgoingTaskMessage {
  message: TaskMessage;
  delaySeconds: number;
}

export interface TaskQueue {
  /** Sends every message (batched); throws ServiceUnavailableError if any could not be sent. */
  send(messages: OutgoingTaskMessage[]): Promise<void>;
}
