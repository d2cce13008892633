/**
 * The batch's durable-waits stage (lib/engine/batch/waits.ts): which claimed tasks start a wait
 * instead of running, timer messages taken out of the claim, and an engine without durable
 * waits (no wait or timer store), on the in-memory store: approvals and long delays fail with
 * UNSUPPORTED rather than hang, and a timer message is left on the queue (never claimed).
 */
import { describe, expect, it } from 'vitest';
import { parsePlaybook } from '../../../lib/domain/playbook-validation.js';
import { takeTimerMessages, waitToStart } from '../../../lib/engine/batch/waits.js';
import { timerMessage } from '../../../lib/engine/timers.js';
import { createEngine, TENANT } from '../../support/engine-fixture.js';

const def = (task: Record<string, unknown>) => parsePlaybook({ name: 'p', tasks: [task] }).tasks[0] as never;
const approval = def({ id: 'ask', type: 'approval', config: { prompt: 'Go?' } });
const answer = { choice: 'approve', by: 'a', comment: null, at: 1 };
const state = { playbook_name: 'p', prompt: 'Go?', choices: ['approve'], approvers: null, on_timeout: 'fail' };

describe('the waits stage', () => {
  it('an approval without an answer, and a delay the queue cannot hold not yet waited, start a wait', () => {
    expect(waitToStart({ def: approval })).toBe('approval');
    expect(waitToStart({ def: approval, approval: { ...state, token_hash: 'h', answer: null } })).toBe('approval');
    expect(waitToStart({ def: approval, approval: { ...state, token_hash: 'h', answer } })).toBeUndefined();
    expect(waitToStart({ def: def({ id: 'd', type: 'delay', config: { seconds: 900 } }) })).toBeUndefined();
    const long = def({ id: 'd', type: 'delay', config: { seconds: 901 } });
    expect(waitToStart({ def: long })).toBe('delay');
    expect(waitToStart({ def: long, wait: { kind: 'delay', since: 0, until: 901_000 } })).toBeUndefined();
    expect(waitToStart({ def: def({ id: 'd', type: 'delay', config: { until: '{{ alert.at }}' } }) })).toBe('delay');
    expect(waitToStart({ def: def({ id: 'n', type: 'noop' }) })).toBeUndefined();
  });

  it('takes timer messages out of the batch, whatever else it holds', () => {
    const timer = timerMessage({ tenant_code: 't', peid: 'p', task_id: 'ask', attempt: 1, kind: 'approval_timeout' });
    const plain = { v: 1, tenant_code: 't', peid: 'p', task_id: 'ask', attempt: 2 };
    const { timed, rest } = takeTimerMessages([
      { messageId: 'a', body: JSON.stringify(plain) },
      { messageId: 'b', body: JSON.stringify(timer) },
      { messageId: 'c', body: 'not json' },
    ]);
    expect(timed).toEqual([{ messageId: 'b', message: timer }]);
    expect(rest.map((r) => r.messageId)).toEqual(['a', 'c']);
  });

  it('without durable waits, an approval fails UNSUPPORTED (and its run), and a timer message is left on the queue', async () => {
    const e = createEngine();
    const { peid, roots } = e.start([
      { id: 'ask', type: 'approval', config: { prompt: 'Go?' } },
      { id: 'after', type: 'noop', depends_on: ['ask'] },
    ]);
    await e.deliver(roots);
    expect(e.task(peid, 'ask')).toMatchObject({ status: 'failed', error: { code: 'UNSUPPORTED' } });
    expect(e.execution(peid).execution_status).toBe('failed');
    const timer = timerMessage({ tenant_code: TENANT, peid, task_id: 'ask', attempt: 1, kind: 'approval_timeout' });
    expect(await e.deliver([{ message: timer, delaySeconds: 0 }])).toEqual(['m0']);
    expect(e.task(peid, 'ask').attempts).toBe(1);
  });
});
