/** The top-playbooks reports: computed from the runs, stored, and copied into a faster store. */

/** One row of a tenant's top-playbooks report. */
export interface TopPlaybookItem {
  pid: string;
  name: string;
  /** Mean playbook_runtime (ms) of the completed runs in the window. */
  average: number;
  count: number;
}

/** When a top-playbooks computation ran and over which window. */
export interface TopPlaybooksRun {
  generated_at: number;
  window_days: number;
}

export interface TopPlaybooksReport extends TopPlaybooksRun {
  items: TopPlaybookItem[];
}

/** A tenant's stored report (null if it never had one) and the last computation (null if none ran). */
export interface StoredTopPlaybooks {
  report: TopPlaybooksReport | null;
  last: TopPlaybooksRun | null;
}

export interface AnalyticsStore {
  /** Per tenant, the `limit` playbooks with the highest average runtime of runs completed since `since`. */
  topPlaybooksByTenant(since: number, limit: number): Promise<Map<string, TopPlaybookItem[]>>;
  /** Stores every tenant's report (tenants absent from `reports` get none) and the run marker. */
  saveTopPlaybooks(reports: Map<string, TopPlaybookItem[]>, run: TopPlaybooksRun): Promise<void>;
  /** The tenant's report and the last run marker, in one read. */
  loadTopPlaybooks(tenant_code: string): Promise<StoredTopPlaybooks>;
}

/** The same reports in a faster store; best-effort: never throws. */
export interface AnalyticsCache {
  saveTopPlaybooks(reports: Map<string, TopPlaybookItem[]>, run: TopPlaybooksRun): Promise<void>;
  /** undefined when the cache cannot answer (unavailable, or no run marker): read the store. */
  loadTopPlaybooks(tenant_code: string): Promise<StoredTopPlaybooks | undefined>;
}
