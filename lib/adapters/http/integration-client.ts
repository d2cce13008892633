/**
 * Integration calls over the container's keep-alive agents (the original Go service's HTTP
 * client pool), with a per-task timeout, a byte cap on responses and the SSRF
 * guard. Redirects are not followed, so they cannot lead to a private target.
 */
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { MAX_INPUT_JSON_DEPTH, parseJsonWithin } from '../../domain/json-value.js';
import {
  type IntegrationClient,
  IntegrationError,
  type IntegrationRequest,
  type IntegrationResponse,
} from '../../engine/ports/integrations.js';
import {
  BlockedAddressError,
  type GuardPolicy,
  guardedLookup,
  hostIsTrusted,
  isPrivateAddress,
} from './address-guard.js';

export interface IntegrationClientOptions extends GuardPolicy {
  agents: { http: HttpAgent; https: HttpsAgent };
  maxResponseBytes: number;
}

/**
 * The answer's body: parsed JSON when it says it is JSON (text when it does not parse). An
 * answer nested deeper than MAX_INPUT_JSON_DEPTH is refused: nothing recursive downstream
 * (templates, JSON.stringify of the output, BSON) could handle it.
 */
function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  const text = raw.toString('utf8');
  if (text.length === 0) return null;
  if (!contentType?.includes('json')) return text;
  const parsed = parseJsonWithin(text, MAX_INPUT_JSON_DEPTH);
  if (parsed.ok) return parsed.value;
  if (parsed.reason === 'syntax') return text;
  throw new IntegrationError(
    'RESPONSE_TOO_DEEP',
    `the response body is JSON nested deeper than ${MAX_INPUT_JSON_DEPTH} levels`,
    false,
  );
}

/** An IntegrationClient with the given agents and guard policy. */
export function createIntegrationClient(opts: IntegrationClientOptions): IntegrationClient {
  const lookup = guardedLookup(opts);
  return {
    request(req: IntegrationRequest): Promise<IntegrationResponse> {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return Promise.reject(new IntegrationError('INVALID_URL', 'the rendered url is not a valid URL', false));
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return Promise.reject(new IntegrationError('INVALID_URL', 'only http and https URLs are allowed', false));
      }
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0 && !hostIsTrusted(opts, host) && isPrivateAddress(host)) {
        return Promise.reject(new IntegrationError('TARGET_BLOCKED', new BlockedAddressError(host).message, false));
      }
      const headers: Record<string, string> = { ...req.headers };
      let payload: Buffer | undefined;
      if (req.body !== undefined && req.body !== null && req.method !== 'GET' && req.method !== 'HEAD') {
        const isText = typeof req.body === 'string';
        payload = Buffer.from(isText ? (req.body as string) : JSON.stringify(req.body));
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          headers['content-type'] = isText ? 'text/plain' : 'application/json';
        }
        headers['content-length'] = String(payload.length);
      }
      const isHttps = url.protocol === 'https:';
      const send = isHttps ? httpsRequest : httpRequest;
      return new Promise<IntegrationResponse>((resolve, reject) => {
        let settled = false;
        const finish = (err: IntegrationError | null, res?: IntegrationResponse) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (err) reject(err);
          else if (res) resolve(res);
        };
        const r = send(
          url,
          { method: req.method, headers, agent: isHttps ? opts.agents.https : opts.agents.http, lookup },
          (res: IncomingMessage) => {
            const parts: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > opts.maxResponseBytes) {
                r.destroy();
                finish(
                  new IntegrationError(
                    'RESPONSE_TOO_LARGE',
                    `response larger than ${opts.maxResponseBytes} bytes`,
                    false,
                  ),
                );
                return;
              }
              parts.push(chunk);
            });
            res.on('end', () => {
              let body: unknown;
              try {
                body = parseBody(Buffer.concat(parts), res.headers['content-type']);
              } catch (err) {
                finish(
                  err instanceof IntegrationError ? err : new IntegrationError('RESPONSE_INVALID', String(err), false),
                );
                return;
              }
              finish(null, { status: res.statusCode ?? 0, body });
            });
            res.on('error', (e) => finish(new IntegrationError('NETWORK', e.message, true)));
          },
        );
        const timer = setTimeout(() => {
          r.destroy();
          finish(new IntegrationError('TIMEOUT', `no complete response within ${req.timeoutMs} ms`, true));
        }, req.timeoutMs);
        r.on('error', (e: Error) => {
          if (e instanceof BlockedAddressError) finish(new IntegrationError('TARGET_BLOCKED', e.message, false));
          else finish(new IntegrationError('NETWORK', e.message, true));
        });
        if (payload) r.write(payload);
        r.end();
      });
    },
  };
}
