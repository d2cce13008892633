/**
 * Baseline of case 5: POST /runplaybook as the original Go service started a run before
 * its guide — the playbook read from MongoDB on every request (no cache), the
 * execution and then each task inserted with its own insertOne, and one SendMessage
 * per root task, each awaited in turn. It writes the same documents and messages as
 * the product (planRun builds both), behind the same HTTP middleware stack, so the
 * difference measured is the I/O pattern alone.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { COLLECTIONS } from '../../lib/adapters/mongo/collections.js';
import { getDb, getSqs } from '../../lib/clients.js';
import { getConfig } from '../../lib/config.js';
import { type StoredPlaybook, taskKey } from '../../lib/engine/model.js';
import { planRun } from '../../lib/engine/start-run.js';
import { NotFoundError, UnprocessableError } from '../../lib/errors.js';
import { callerOf, jsonBody, parseWith } from '../../lib/http/request.js';
import { jsonResponse } from '../../lib/http/responses.js';
import { runPlaybookBody } from '../../lib/http/schemas.js';
import { httpHandler } from '../../lib/lambda/http.js';

/** The naive run-start handler (no Idempotency-Key support: the original service's load test sends none). */
export function naiveRunPlaybookHandler() {
  return httpHandler(async (event) => {
    const caller = callerOf(event);
    const input = parseWith(runPlaybookBody, jsonBody(event), 'request body');
    const db = getDb();
    const playbook = await db
      .collection<StoredPlaybook & { _id: string }>(COLLECTIONS.playbooks)
      .findOne({ tenant_code: caller.tenant_code, name: input.playbook_name }, { projection: { _id: 0 } });
    if (!playbook) throw new NotFoundError(`playbook '${input.playbook_name}' not found`);
    if (playbook.status !== 'active') throw new UnprocessableError(`playbook '${input.playbook_name}' is inactive`);
    const peid = randomUUID();
    const { exec, tasks, roots } = planRun(playbook, input, caller, peid, Date.now());
    await db.collection<{ _id: string }>(COLLECTIONS.executions).insertOne({ _id: peid, ...exec });
    const taskCol = db.collection<{ _id: string }>(COLLECTIONS.tasks);
    for (const t of tasks) await taskCol.insertOne({ _id: taskKey(t.peid, t.task_id), ...t });
    const queueUrl = getConfig('queue').TASK_QUEUE_URL;
    for (const r of roots) {
      await getSqs().send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(r.message),
          DelaySeconds: r.delaySeconds,
        }),
      );
    }
    return jsonResponse(202, { peid, execution_status: 'running' });
  });
}
