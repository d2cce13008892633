import { describe, expect, it } from 'vitest';
import {
  APPROVAL_TIMEOUT,
  approvalExpiresAt,
  approvalOutcome,
  approvalVariables,
  callbackUrl,
  mayAnswer,
  parseAnswer,
  promptText,
  timeoutAnswer,
} from '../../../lib/domain/approval.js';
import { parsePlaybook } from '../../../lib/domain/playbook-validation.js';
import { type FieldIssue, ValidationError } from '../../../lib/errors.js';
import { playbookWith } from './sample-playbook.js';

function issuesOf(run: () => unknown): FieldIssue[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).details ?? [];
  }
  throw new Error('expected a ValidationError');
}

const approval = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  playbookWith([{ id: 'approve_block', type: 'approval', config, ...extra }]);

describe('approval tasks at save time', () => {
  it('accepts the contract sample and applies the defaults', () => {
    const full = parsePlaybook(
      approval({
        prompt: 'Block {{ alert.src_ip }}? score {{ tasks.score.output }}',
        choices: ['approve', 'reject'],
        approvers: ['analyst1'],
        timeout_seconds: 86400,
        on_timeout: 'reject',
        notify: {
          method: 'POST',
          url: 'https://chat.example/hook',
          body: { text: '{{ approval.prompt }} {{ approval.callback_url }}' },
        },
      }),
    );
    expect(full.tasks[0]?.type).toBe('approval');
    const minimal = parsePlaybook(approval({ prompt: 'Go?' })).tasks[0];
    expect(minimal).toMatchObject({
      config: { prompt: 'Go?', choices: ['approve', 'reject'], timeout_seconds: 86400, on_timeout: 'fail' },
    });
    expect(minimal?.type === 'approval' && minimal.config.approvers).toBeUndefined();
  });

  it.each([
    ['no prompt', {}, 'tasks[0].config.prompt'],
    ['a prompt that does not parse', { prompt: 'Block {{ alert.( }}?' }, 'tasks[0].config.prompt'],
    ['an unclosed prompt template', { prompt: 'Block {{ alert.ip' }, 'tasks[0].config.prompt'],
    ['no choices', { prompt: 'p', choices: [] }, 'tasks[0].config.choices'],
    [
      'eleven choices',
      { prompt: 'p', choices: Array.from({ length: 11 }, (_, i) => `c${i}`) },
      'tasks[0].config.choices',
    ],
    ['an empty choice', { prompt: 'p', choices: ['yes', ''] }, 'tasks[0].config.choices[1]'],
    ['a blank choice', { prompt: 'p', choices: ['yes', '   '] }, 'tasks[0].config.choices[1]'],
    ['a duplicate choice', { prompt: 'p', choices: ['yes', 'no', 'yes'] }, 'tasks[0].config.choices[2]'],
    ['a choice that is not a string', { prompt: 'p', choices: ['yes', 2] }, 'tasks[0].config.choices[1]'],
    ['approvers not a list', { prompt: 'p', approvers: 'analyst1' }, 'tasks[0].config.approvers'],
    ['approvers not strings', { prompt: 'p', approvers: ['a', 7] }, 'tasks[0].config.approvers[1]'],
    ['an empty approvers list', { prompt: 'p', approvers: [] }, 'tasks[0].config.approvers'],
    ['a timeout under 60 s', { prompt: 'p', timeout_seconds: 59 }, 'tasks[0].config.timeout_seconds'],
    ['a timeout over 30 days', { prompt: 'p', timeout_seconds: 2_592_001 }, 'tasks[0].config.timeout_seconds'],
    ['a fractional timeout', { prompt: 'p', timeout_seconds: 90.5 }, 'tasks[0].config.timeout_seconds'],
    ['on_timeout not a choice', { prompt: 'p', on_timeout: 'maybe' }, 'tasks[0].config.on_timeout'],
    ['an unknown config field', { prompt: 'p', choice: ['a'] }, 'tasks[0].config.choice'],
    ['a notify without a url', { prompt: 'p', notify: { method: 'POST' } }, 'tasks[0].config.notify.url'],
    [
      'a notify with an unknown field',
      { prompt: 'p', notify: { method: 'POST', url: 'https://x.example', header: {} } },
      'tasks[0].config.notify.header',
    ],
    ['a secret in the prompt', { prompt: 'Token {{ secrets.API_KEY }}?' }, 'tasks[0].config.prompt'],
    [
      'a secret transformed in the notify',
      {
        prompt: 'p',
        notify: { method: 'POST', url: 'https://x.example', headers: { a: '{{ $uppercase(secrets.API_KEY) }}' } },
      },
      'tasks[0].config.notify.headers.a',
    ],
    [
      'a notify template that does not parse',
      { prompt: 'p', notify: { method: 'POST', url: 'https://x.example', body: { text: '{{ approval. }}' } } },
      'tasks[0].config.notify.body.text',
    ],
  ])('refuses %s, naming the field', (_label, config, path) => {
    const issues = issuesOf(() => parsePlaybook(approval(config)));
    expect(issues.map((i) => i.path)).toContain(path);
  });

  it('a notify may use a secret directly, as an http task does', () => {
    const notify = { method: 'POST', url: 'https://x.example', headers: { authorization: '{{ secrets.CHAT_TOKEN }}' } };
    expect(() => parsePlaybook(approval({ prompt: 'p', notify }))).not.toThrow();
  });

  it('the bounds are accepted: 1 and 10 choices, 60 s and 30 days, on_timeout "fail" or a choice', () => {
    expect(() => parsePlaybook(approval({ prompt: 'p', choices: ['ok'], timeout_seconds: 60 }))).not.toThrow();
    const ten = Array.from({ length: 10 }, (_, i) => `c${i}`);
    expect(() =>
      parsePlaybook(approval({ prompt: 'p', choices: ten, timeout_seconds: 2_592_000, on_timeout: 'c9' })),
    ).not.toThrow();
  });
});

describe('delay tasks at save time', () => {
  const delay = (config: unknown) => playbookWith([{ id: 'wait', type: 'delay', config }]);

  it('accepts seconds up to 30 days, or until a templated time', () => {
    expect(() => parsePlaybook(delay({ seconds: 0 }))).not.toThrow();
    expect(() => parsePlaybook(delay({ seconds: 2_592_000 }))).not.toThrow();
    expect(() => parsePlaybook(delay({ until: '{{ alert.resume_at }}' }))).not.toThrow();
    expect(() => parsePlaybook(delay({ until: '2030-01-01T00:00:00Z' }))).not.toThrow();
  });

  it.each([
    ['both', { seconds: 1, until: '{{ x }}' }, 'tasks[0].config.seconds'],
    ['neither', {}, 'tasks[0].config.seconds'],
    ['too long', { seconds: 2_592_001 }, 'tasks[0].config.seconds'],
    ['negative', { seconds: -1 }, 'tasks[0].config.seconds'],
    ['an until that does not parse', { until: '{{ alert.( }}' }, 'tasks[0].config.until'],
    ['an empty until', { until: '' }, 'tasks[0].config.until'],
  ])('refuses %s, naming the field', (_label, config, path) => {
    expect(issuesOf(() => parsePlaybook(delay(config))).map((i) => i.path)).toContain(path);
  });
});

describe('approval rules', () => {
  it('expires timeout_seconds after the wait began', () => {
    expect(approvalExpiresAt(1_000, 60)).toBe(61_000);
    expect(approvalExpiresAt(0, 2_592_000)).toBe(2_592_000_000);
  });

  it('the prompt is text, cut to 4,000 characters', () => {
    expect(promptText('Block 1.2.3.4?')).toBe('Block 1.2.3.4?');
    expect(promptText({ ip: '1.2.3.4' })).toBe('{"ip":"1.2.3.4"}');
    expect(promptText(null)).toBe('null');
    const long = promptText('x'.repeat(10_000));
    expect(long).toHaveLength(4_000);
    expect(long.endsWith('…')).toBe(true);
  });

  it('the notify variables carry the prompt, the choices, the token and its link', () => {
    expect(approvalVariables('Go?', ['yes', 'no'], 'tok', 'https://api.example/')).toEqual({
      prompt: 'Go?',
      choices: ['yes', 'no'],
      token: 'tok',
      callback_url: 'https://api.example/callbacks/tok',
    });
    expect(callbackUrl('tok')).toBe('/callbacks/tok');
  });

  it('approvers: anyone of the tenant when none are named, else only those subs', () => {
    expect(mayAnswer(undefined, 'a')).toBe(true);
    expect(mayAnswer(null, 'a')).toBe(true);
    expect(mayAnswer(['a', 'b'], 'b')).toBe(true);
    expect(mayAnswer(['a', 'b'], 'c')).toBe(false);
    expect(mayAnswer(['a'], 'A')).toBe(false);
  });

  it('an answer: a choice offered, a comment of at most 1,000 characters, nothing else', () => {
    const choices = ['approve', 'reject'];
    expect(parseAnswer({ choice: 'approve' }, choices)).toEqual({ choice: 'approve', comment: null });
    expect(parseAnswer({ choice: 'reject', comment: 'no way' }, choices)).toEqual({
      choice: 'reject',
      comment: 'no way',
    });
    expect(parseAnswer({ choice: 'reject', comment: null }, choices).comment).toBeNull();
    expect(parseAnswer({ choice: 'reject', comment: 'x'.repeat(1000) }, choices).comment).toHaveLength(1000);
    const path = (body: unknown) => issuesOf(() => parseAnswer(body, choices)).map((i) => i.path);
    expect(path({ choice: 'maybe' })).toEqual(['choice']);
    expect(path({ choice: 'Approve' })).toEqual(['choice']);
    expect(path({})).toEqual(['choice']);
    expect(path({ choice: ['approve'] })).toEqual(['choice']);
    expect(path({ choice: 'approve', comment: 'x'.repeat(1001) })).toEqual(['comment']);
    expect(path({ choice: 'approve', comment: 5 })).toEqual(['comment']);
    expect(path({ choice: 'approve', by: 'someone-else' })).toEqual(['by']);
    expect(path('approve')).toEqual(['(body)']);
    expect(path(null)).toEqual(['(body)']);
  });

  it('the result: the answer as output, or APPROVAL_TIMEOUT when the timeout fails the task', () => {
    expect(approvalOutcome({ choice: 'approve', by: 'analyst1', comment: 'ok', at: 5 })).toEqual({
      status: 'succeeded',
      output: { choice: 'approve', by: 'analyst1', comment: 'ok', at: 5 },
    });
    expect(timeoutAnswer('reject', 9)).toEqual({ choice: 'reject', by: 'timeout', comment: null, at: 9 });
    expect(approvalOutcome(timeoutAnswer('reject', 9))).toMatchObject({
      status: 'succeeded',
      output: { choice: 'reject', by: 'timeout' },
    });
    expect(approvalOutcome(timeoutAnswer('fail', 9))).toMatchObject({
      status: 'failed',
      error: { code: APPROVAL_TIMEOUT },
    });
  });
});
