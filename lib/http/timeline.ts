/**
 * Edge of `GET /executions/{peid}/timeline`: the query (`format` = json | svg),
 * content negotiation (`?format=` wins; otherwise an Accept header that prefers
 * image/svg+xml over application/json gets the SVG), and the response.
 */
import * as z from 'zod';
import { renderTimelineSvg } from '../domain/timeline-svg.js';
import type { RunStore } from '../engine/ports/run-store.js';
import { getTimeline } from '../engine/timeline.js';
import { type ApiEvent, headerOf, parseWith } from './request.js';
import { type JsonResponse, jsonResponse } from './responses.js';
import { peidParam } from './schemas.js';

export const SVG_CONTENT_TYPE = 'image/svg+xml';

/** Only `format` is accepted; anything else is a 400 naming the field. */
export const timelineQuery = z.strictObject({ format: z.enum(['json', 'svg']).optional() });

/** The q-value the Accept header gives to exactly `type` (wildcards ignored); 0 when absent. */
function qualityOf(accept: string, type: string): number {
  let best = 0;
  for (const part of accept.split(',')) {
    const [media, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (media !== type) continue;
    let q = 1;
    for (const p of params) {
      const m = /^q=([01](?:\.\d{0,3})?)$/.exec(p);
      if (m?.[1] !== undefined) q = Number(m[1]);
    }
    best = Math.max(best, q);
  }
  return best;
}

/** The representation asked for: the query first, then the Accept header; JSON by default. */
export function timelineFormat(format: 'json' | 'svg' | undefined, accept: string | undefined): 'json' | 'svg' {
  if (format !== undefined) return format;
  if (accept === undefined) return 'json';
  const svg = qualityOf(accept, SVG_CONTENT_TYPE);
  return svg > 0 && svg > qualityOf(accept, 'application/json') ? 'svg' : 'json';
}

/** Answers the timeline route for the caller's tenant. */
export async function timelineResponse(
  runs: RunStore,
  event: ApiEvent,
  tenant_code: string,
  now: number,
): Promise<JsonResponse> {
  const { peid } = parseWith(peidParam, event.pathParameters ?? {}, 'path');
  const q = parseWith(timelineQuery, event.queryStringParameters ?? {}, 'query');
  const format = timelineFormat(q.format, headerOf(event, 'accept'));
  const timeline = await getTimeline(runs, { tenant_code, peid }, now);
  const headers = { 'cache-control': 'no-store', vary: 'accept' };
  if (format === 'json') return jsonResponse(200, timeline, headers);
  return {
    statusCode: 200,
    headers: {
      ...headers,
      'content-type': SVG_CONTENT_TYPE,
      'x-content-type-options': 'nosniff',
      // The document carries no scripts or external references; keep it that way if opened directly.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
    body: renderTimelineSvg(timeline),
  };
}
