/**
 * An http config (an http task's, an approval's notify, an undo's) rendered into the request an
 * integration gets. Integration secrets are used only directly (`{{ secrets.NAME }}`, see
 * lib/domain/secret-refs.ts): the engine substitutes their values, which never enter the template
 * context, so no expression can read or transform them; every value resolved is pushed on `used`
 * for the caller to redact from what it stores.
 */
import { directSecretUse, encodeSecret, secretRefs, secretTemplateIssues } from '../domain/secret-refs.js';
import { renderTemplate, type TemplateContext, type TemplateSubstitution } from '../domain/templates.js';
import type { IntegrationRequest } from './ports/integrations.js';
import { SecretError, type SecretResolver } from './ports/secrets.js';

/** What rendering a request needs besides the config and the context. */
export interface RenderRequestOptions {
  tenant_code: string;
  secrets: SecretResolver | undefined;
  /** Receives every secret value resolved (to redact from the outcome). */
  used: string[];
  deadline: number;
  timeoutMs: number;
}

/**
 * The substitution of a config's direct secret uses, resolved through `secrets`; undefined when
 * the config uses none. A stored config that breaks the rule fails (SECRET_MISUSE) before any
 * secret is resolved.
 */
export async function secretSubstitution(
  config: unknown,
  tenant_code: string,
  secrets: SecretResolver | undefined,
  used: string[],
): Promise<TemplateSubstitution | undefined> {
  const misuse = secretTemplateIssues(config, 'config', true)[0];
  if (misuse !== undefined) throw new SecretError('SECRET_MISUSE', `${misuse.path}: ${misuse.message}`, false);
  const names = secretRefs(config);
  if (names.length === 0) return undefined;
  if (!secrets) throw new SecretError('SECRETS_UNAVAILABLE', 'no secret store is configured', false);
  const values = await secrets.resolve(tenant_code, names);
  used.push(...Object.values(values));
  return (expression) => {
    const use = directSecretUse(expression);
    const value = use === undefined ? undefined : values[use.name];
    return use === undefined || value === undefined ? undefined : { value: encodeSecret(value, use.encoding) };
  };
}

/** Renders `config` ({ method, url, headers?, body? } with templates) against `ctx` into a request. */
export async function renderHttpRequest(
  config: unknown,
  ctx: TemplateContext,
  opts: RenderRequestOptions,
): Promise<IntegrationRequest> {
  const substitute = await secretSubstitution(config, opts.tenant_code, opts.secrets, opts.used);
  const rendered = (await renderTemplate(config, ctx, { deadline: opts.deadline }, substitute)) as {
    method: string;
    url: unknown;
    headers?: Record<string, unknown>;
    body?: unknown;
  };
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(rendered.headers ?? {}))
    headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return {
    method: rendered.method,
    url: String(rendered.url),
    headers,
    body: rendered.body,
    timeoutMs: opts.timeoutMs,
  };
}
