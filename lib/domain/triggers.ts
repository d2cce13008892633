/** How a run was started and whether it may call integrations (recorded on every run). */

/** What started a run: the API, a webhook, a schedule slot, or a parent run's `playbook` task. */
export const TRIGGER_TYPES = ['api', 'webhook', 'schedule', 'subplaybook'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

/** `live` runs call their integrations; `test` runs replace the mocked tasks and are left out of analytics. */
export const RUN_MODES = ['live', 'test'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export type RunTrigger =
  | { type: 'api' }
  | { type: 'webhook'; hook_id: string }
  /** `slot`: the schedule time (epoch ms) this run is for; one run per slot. */
  | { type: 'schedule'; slot: number }
  | { type: 'subplaybook'; parent_peid: string; task_id: string };
