/** The public HTTP contract's sample playbook (its "Playbooks" section), comments removed. */
export function samplePlaybook(): Record<string, unknown> {
  return {
    name: 'enrich-and-block',
    description: 'optional',
    category_id: 'phishing',
    status: 'active',
    tasks: [
      {
        id: 'lookup',
        type: 'http',
        config: { method: 'GET', url: 'https://intel.example/ip/{{ alert.src_ip }}' },
        retry: { max_attempts: 3, backoff_ms: 1000, max_backoff_ms: 60000 },
        timeout_ms: 10000,
      },
      {
        id: 'score',
        type: 'transform',
        depends_on: ['lookup'],
        config: { expression: 'tasks.lookup.output.body.score' },
      },
      {
        id: 'block',
        type: 'http',
        depends_on: ['score'],
        run_if: 'tasks.score.output > 80',
        config: {
          method: 'POST',
          url: 'https://fw.example/block',
          body: { ip: '{{ alert.src_ip }}', peid: '{{ execution.peid }}' },
        },
      },
      { id: 'close', type: 'noop', depends_on: ['score', 'block'], join: 'any' },
    ],
  };
}

/** A minimal valid playbook built from task objects. */
export function playbookWith(tasks: unknown[]): Record<string, unknown> {
  return { name: 'p', tasks };
}
