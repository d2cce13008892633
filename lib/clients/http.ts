/** The container's keep-alive agents for integration calls (the original Go service's HTTP client pool). */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { getConfig } from '../config.js';
import { onClose } from './registry.js';

/** Keep-alive agents for integration calls (the original Go service's HTTP client pool). */
export function createHttpAgents(maxSockets: number): { http: HttpAgent; https: HttpsAgent } {
  const opts = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 20), timeout: 90_000 };
  return { http: new HttpAgent(opts), https: new HttpsAgent(opts) };
}

let agents: ReturnType<typeof createHttpAgents> | undefined;

/** The container's keep-alive agents. */
export function getHttpAgents(): ReturnType<typeof createHttpAgents> {
  agents ??= createHttpAgents(getConfig('engine').HTTP_MAX_SOCKETS);
  return agents;
}

onClose(() => {
  agents?.http.destroy();
  agents?.https.destroy();
  agents = undefined;
});
