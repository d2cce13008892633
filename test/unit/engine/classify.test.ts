/** What a message asks for, from the task and run states read after the claim (lib/engine/batch/classify.ts). */
import { describe, expect, it } from 'vitest';
import { classify } from '../../../lib/engine/batch/classify.js';
import type { Job } from '../../../lib/engine/batch/intake.js';
import type { ExecutionRecord, TaskRecord } from '../../../lib/engine/model.js';
import { planTestRun } from '../../support/planned-run.js';

const NOW = 1_000;
const { exec, tasks } = planTestRun([{ id: 'a', type: 'noop' }], '00000000-0000-4000-8000-000000000001');
const base = tasks[0] as TaskRecord;
const job = (attempt: number): Job => ({
  msg: { v: 1, tenant_code: 't', peid: exec.peid, task_id: 'a', attempt },
  key: `${exec.peid}:a`,
  messageIds: ['m'],
});
const task = (over: Partial<TaskRecord>): TaskRecord => ({ ...base, ...over });
const ended: ExecutionRecord = { ...exec, execution_status: 'cancelled' };
const claimed = (token: string, until: number) => task({ status: 'running', attempts: 2, claim: { token, until } });

describe('classify', () => {
  it.each([
    ['the attempt this batch claimed runs', claimed('mine', NOW + 1), exec, 2, 'run'],
    ['the attempt this batch claimed, its run ended: cancelled', claimed('mine', NOW + 1), ended, 2, 'cancel'],
    ['a stale copy of an earlier attempt in the same batch does not run', claimed('mine', NOW + 1), exec, 1, 'drop'],
    [
      'a finished task: what follows it is driven again',
      task({ status: 'succeeded', attempts: 2 }),
      exec,
      2,
      'redrive',
    ],
    ['a finished task of an ended run, too', task({ status: 'failed', attempts: 2 }), ended, 1, 'redrive'],
    [
      'a task waiting for its child run: resumed',
      task({ status: 'running', attempts: 2, claim: null, child_peid: 'c' }),
      exec,
      2,
      'resume',
    ],
    [
      'a waiting task of an ended run: dropped',
      task({ status: 'running', attempts: 2, claim: null, child_peid: 'c' }),
      ended,
      2,
      'drop',
    ],
    [
      'a loop waiting for its items is not resumed',
      task({ status: 'running', attempts: 2, claim: null, open_items: [0] }),
      exec,
      2,
      'drop',
    ],
    [
      'a recorded retry whose message may be lost: re-sent',
      task({ status: 'queued', attempts: 2 }),
      exec,
      2,
      'resend-retry',
    ],
    ['a recorded retry of an ended run: dropped', task({ status: 'queued', attempts: 2 }), ended, 2, 'drop'],
    ['another worker holds the attempt, lease running: later', claimed('other', NOW), exec, 2, 'later'],
    [
      'another worker held it, lease expired (the claim did not take it): dropped',
      claimed('other', NOW - 1),
      exec,
      2,
      'drop',
    ],
    [
      'queued, never claimed by this batch (another took it since): dropped',
      task({ status: 'queued', attempts: 1 }),
      exec,
      2,
      'drop',
    ],
  ] as const)('%s', (_name, t, e, attempt, expected) => {
    expect(classify(job(attempt), t, e, 'mine', NOW)).toBe(expected);
  });

  it('drops a message whose task or run is unknown', () => {
    expect(classify(job(1), undefined, exec, 'mine', NOW)).toBe('drop');
    expect(classify(job(1), base, undefined, 'mine', NOW)).toBe('drop');
  });
});
