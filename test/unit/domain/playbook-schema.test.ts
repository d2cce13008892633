import { describe, expect, it } from 'vitest';
import { playbookSchema } from '../../../lib/domain/playbook-schema.js';
import { samplePlaybook } from './sample-playbook.js';

describe('playbookSchema', () => {
  it('accepts the contract sample and applies defaults', () => {
    const parsed = playbookSchema.parse(samplePlaybook());
    const [lookup, score, block, close] = parsed.tasks;
    expect(lookup?.retry).toEqual({ max_attempts: 3, backoff_ms: 1000, max_backoff_ms: 60000 });
    expect(lookup?.timeout_ms).toBe(10000);
    expect(score?.retry).toEqual({ max_attempts: 1, backoff_ms: 1000, max_backoff_ms: 60000 });
    expect(score?.timeout_ms).toBe(30000);
    expect(score?.join).toBe('all');
    expect(score?.on_failure).toBe('fail');
    expect(lookup?.depends_on).toEqual([]);
    expect(block?.run_if).toBe('tasks.score.output > 80');
    expect(close?.join).toBe('any');
    expect(close?.config).toBeUndefined();
  });

  it('fills missing retry fields and gives every task its own default objects', () => {
    const parsed = playbookSchema.parse({
      name: 'p',
      tasks: [
        { id: 'a', type: 'noop', retry: { max_attempts: 4 } },
        { id: 'b', type: 'noop' },
        { id: 'c', type: 'noop' },
      ],
    });
    expect(parsed.status).toBe('active');
    expect(parsed.tasks[0]?.retry).toEqual({ max_attempts: 4, backoff_ms: 1000, max_backoff_ms: 60000 });
    expect(parsed.tasks[1]?.retry).not.toBe(parsed.tasks[2]?.retry);
    expect(parsed.tasks[1]?.depends_on).not.toBe(parsed.tasks[2]?.depends_on);
  });

  it('accepts each task type config', () => {
    const result = playbookSchema.safeParse({
      name: 'types',
      tasks: [
        { id: 'd', type: 'delay', config: { seconds: 900 } },
        { id: 'dl', type: 'delay', config: { seconds: 2_592_000 } },
        { id: 'du', type: 'delay', config: { until: '{{ alert.at }}' } },
        { id: 'a', type: 'approval', config: { prompt: 'Block?' } },
        { id: 'n', type: 'noop', config: {} },
        { id: 't', type: 'transform', config: { expression: '1' } },
        {
          id: 'h',
          type: 'http',
          config: { method: 'HEAD', url: 'u', headers: { 'X-Key': 'v' }, body: [1, 'a', null, { b: true }] },
        },
      ],
    });
    expect(result.success).toBe(true);
  });

  it('rejects out-of-range numbers', () => {
    const result = playbookSchema.safeParse({
      name: 'p',
      tasks: [{ id: 'd', type: 'delay', config: { seconds: 2_592_001 }, timeout_ms: 0, retry: { max_attempts: 11 } }],
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['tasks.0.config.seconds', 'tasks.0.timeout_ms', 'tasks.0.retry.max_attempts']),
    );
  });
});
