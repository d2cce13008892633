/**
 * Baseline of the analytics read: GET /analytics/top-playbooks answered by running
 * the original Go service's (AFTER) aggregation on every request, through the same middleware
 * stack and with the contract's response shape. What serving without the scheduled
 * precomputation would cost.
 */
import { getDb } from '../../lib/clients.js';
import { callerOf } from '../../lib/http/request.js';
import { jsonResponse } from '../../lib/http/responses.js';
import { httpHandler } from '../../lib/lambda/http.js';
import { originalAfterPipeline, topPlaybooks, topPlaybooksMatch } from './original-top-playbooks.js';

/** A handler computing the caller's top 5 per request over the last `windowDays` days. */
export function computeTopPlaybooksHandler(windowDays: number) {
  return httpHandler(async (event) => {
    const { tenant_code } = callerOf(event);
    const since = Date.now() - windowDays * 86_400_000;
    const items = await topPlaybooks(getDb(), originalAfterPipeline(topPlaybooksMatch(tenant_code, since)));
    return jsonResponse(200, { generated_at: Date.now(), window_days: windowDays, items });
  });
}
