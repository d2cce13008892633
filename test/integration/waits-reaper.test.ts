/**
 * The reaper and waiting runs, on runs the real consumer took to a waiting approval: a run whose
 * open tasks wait is healthy (not failed for its age, nothing re-sent), a wait past its deadline
 * whose timer never acted is fired by the reaper (once), and an answered approval whose message
 * was lost is re-sent. The first test goes through the scheduled handler with its configuration;
 * the others run the use case with the reaper's clock moved ahead (a virtual clock).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '../../lib/clients.js';
import { timerId } from '../../lib/domain/timers.js';
import { respondToApproval } from '../../lib/engine/approvals.js';
import { type ReapReport, reapRuns } from '../../lib/engine/reap-runs.js';
import { approvalDeps, timerStore } from '../../lib/wiring/approvals.js';
import { reapDeps } from '../../lib/wiring/maintenance.js';
import { api } from '../support/api.js';
import { approvalPlaybook, tokenOf, waitForTask } from '../support/approval-runs.js';
import { createHarness, type Harness } from '../support/harness.js';
import { lambdaContext } from '../support/lambda-context.js';

const MIN = 60_000;
const H = 60 * MIN;
let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  await h.createPlaybook(approvalPlaybook('ask-a-day', h.stub.url, { timeout_seconds: 86_400 }));
  await h.createPlaybook(approvalPlaybook('ask-an-hour', h.stub.url, { timeout_seconds: 3_600 }));
  h.poller().start();
});
afterAll(async () => h.close());

async function waitingRun(name: string) {
  const peid = await h.startRun(name, { src_ip: '203.0.113.7' });
  const { task } = await waitForTask(h, peid, 'approve', 'waiting');
  return { peid, token: await tokenOf(h, peid), until: task.wait?.until as number };
}

/** Moves a run's creation and last progress `byMs` into the past (as if it had waited that long). */
async function age(peid: string, byMs: number): Promise<void> {
  const db = getDb();
  const at = Date.now() - byMs;
  await db
    .collection('playbook_execution_collection')
    .updateOne({ _id: peid as never }, { $set: { createddate: at, updateddate: at } });
}

const OPTS = { staleAfterMs: 20 * MIN, maxRunAgeMs: 24 * H, limit: 100, waitGraceMs: 5 * MIN };
const reapAt = (at: number, opts: Partial<typeof OPTS> = {}) =>
  reapRuns({ ...reapDeps(), clock: () => at }, { ...OPTS, ...opts });

describe('the reaper and waiting runs', () => {
  it('a run whose only open task waits is healthy: RUN_MAX_AGE_MS does not fail it, nothing is re-sent', async () => {
    const run = await waitingRun('ask-a-day');
    await age(run.peid, 2 * H);
    Object.assign(process.env, { REAP_STALE_AFTER_MS: '60000', RUN_MAX_AGE_MS: '3600000' });
    const { handler } = await import('../../functions/reap-runs.js');
    const report = (await handler({} as never, lambdaContext('reapRuns'))) as ReapReport;
    expect(report).toMatchObject({ examined: 1, timedOut: 0, requeued: 0, fired: 0, failed: 0 });
    const after = await h.execution(run.peid);
    expect(after.execution_status).toBe('running');
    expect(after.tasks.find((t) => t.task_id === 'approve')?.status).toBe('waiting');
    // Its question is still open: the link works, and the answer takes the run to its end.
    expect((await api('GET', `/callbacks/${run.token}`)).status).toBe(200);
    expect((await api('POST', `/callbacks/${run.token}`, { body: { choice: 'reject' } })).status).toBe(200);
    expect((await h.waitFinished(run.peid)).execution_status).toBe('completed');
  });

  it('a wait past its deadline whose timer never acted is fired by the reaper, once', async () => {
    const run = await waitingRun('ask-an-hour');
    // Within the grace its timer may still act: left alone.
    expect(await reapAt(run.until + 5 * MIN - 1)).toMatchObject({ examined: 1, fired: 0, timedOut: 0 });
    expect((await h.execution(run.peid)).tasks.find((t) => t.task_id === 'approve')?.status).toBe('waiting');
    // Past it (at the next look, a stale bound later): the timeout applies (on_timeout: reject, by
    // `timeout`) and the run goes on.
    expect(await reapAt(run.until + 26 * MIN)).toMatchObject({ examined: 1, fired: 1, timedOut: 0 });
    const done = await h.waitFinished(run.peid);
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'approve')).toMatchObject({
      status: 'succeeded',
      output: { choice: 'reject', by: 'timeout' },
    });
    const id = timerId({
      tenant_code: 'tenant-a',
      peid: run.peid,
      task_id: 'approve',
      attempt: 1,
      kind: 'approval_timeout',
    });
    expect(await timerStore().get(id)).toMatchObject({ state: 'fired' });
    expect(await reapAt(run.until + 60 * MIN)).toMatchObject({ fired: 0 });
  });

  it("re-sends an answered approval's task message that was lost, and the run completes", async () => {
    const run = await waitingRun('ask-a-day');
    // The answer is recorded, but its message never reaches the queue.
    const lost = { ...approvalDeps(), queue: { send: async () => {} } };
    const answered = await respondToApproval(
      lost,
      { tenant_code: 'tenant-a', sub: 'analyst-a' },
      { peid: run.peid, task_id: 'approve' },
      { choice: 'approve' },
    );
    expect(answered.status).toBe('queued');
    const report = await reapAt(Date.now() + 21 * MIN);
    expect(report).toMatchObject({ examined: 1, requeued: 1, fired: 0, timedOut: 0 });
    const done = await h.waitFinished(run.peid);
    expect(done.execution_status).toBe('completed');
    expect(done.tasks.find((t) => t.task_id === 'approve')?.output).toMatchObject({
      choice: 'approve',
      by: 'analyst-a',
    });
  });
});
