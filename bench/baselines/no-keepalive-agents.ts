/**
 * Baseline of case 6: integration calls without a connection pool, a new TCP
 * connection for every call (keepAlive off, so each request says Connection: close),
 * as the original Go service did before its shared http.Client. Handed to the
 * product's own integration client, so nothing else differs.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/** Agents that never reuse a connection. */
export function noKeepAliveAgents(): { http: HttpAgent; https: HttpsAgent } {
  return { http: new HttpAgent({ keepAlive: false }), https: new HttpsAgent({ keepAlive: false }) };
}
