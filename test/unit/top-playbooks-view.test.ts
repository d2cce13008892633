/** What GET /analytics/top-playbooks answers from a stored report and the last run marker. */
import { describe, expect, it } from 'vitest';
import { topPlaybooksView } from '../../lib/engine/top-playbooks.js';

const items = [{ pid: 'p1', name: 'one', average: 12.5, count: 2 }];

describe('topPlaybooksView', () => {
  it('never computed: generated_at null, the configured window, no items', () => {
    expect(topPlaybooksView({ report: null, last: null }, 30)).toEqual({
      generated_at: null,
      window_days: 30,
      items: [],
    });
  });

  it('a report from the last run is served as stored', () => {
    const report = { generated_at: 100, window_days: 7, items };
    expect(topPlaybooksView({ report, last: { generated_at: 100, window_days: 7 } }, 30)).toEqual(report);
  });

  it('a report older than the last run: the tenant had no runs in that window', () => {
    const report = { generated_at: 100, window_days: 30, items };
    expect(topPlaybooksView({ report, last: { generated_at: 200, window_days: 30 } }, 30)).toEqual({
      generated_at: 200,
      window_days: 30,
      items: [],
    });
  });

  it('no report but a run happened: empty as of that run', () => {
    expect(topPlaybooksView({ report: null, last: { generated_at: 300, window_days: 14 } }, 30)).toEqual({
      generated_at: 300,
      window_days: 14,
      items: [],
    });
  });
});
