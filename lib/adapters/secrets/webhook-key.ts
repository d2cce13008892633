/**
 * The service's webhook key, from which every hook's secret is derived: in AWS an SSM
 * SecureString (`WEBHOOK_SIGNING_KEY_PARAMETER`), read with decryption at run time and cached in
 * the container (never in the function's environment, never logged); on the local stage and in
 * tests, `WEBHOOK_SIGNING_KEY`. Changing the key changes every hook's secret (re-create the hooks).
 */
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { WebhookKeySource } from '../../engine/ports/webhooks.js';
import { ServiceUnavailableError } from '../../errors.js';

/** The smallest key accepted (bytes of its text). */
export const MIN_WEBHOOK_KEY_LENGTH = 32;

/** A key given directly (local stage, tests). */
export function staticWebhookKey(value: string): WebhookKeySource {
  const key = new TextEncoder().encode(value);
  return { key: async () => key };
}

/** The key read from an SSM SecureString, cached for `maxAgeSeconds`. */
export function ssmWebhookKey(client: SSMClient, name: string, maxAgeSeconds: number): WebhookKeySource {
  const provider = new SSMProvider({ awsSdkV3Client: client });
  return {
    async key() {
      let value: string | undefined;
      try {
        value = await provider.get(name, { decrypt: true, maxAge: maxAgeSeconds });
      } catch (err) {
        throw new ServiceUnavailableError('the webhook key could not be read, try again', { cause: err });
      }
      if (typeof value !== 'string' || value.length < MIN_WEBHOOK_KEY_LENGTH) {
        throw new ServiceUnavailableError('the webhook key is not configured');
      }
      return new TextEncoder().encode(value);
    },
  };
}

/**
 * The key source a configuration names: the key itself when given (the local stage's environment
 * also carries the deployed parameter name, which serverless.yml sets for every stage; deployed
 * stages never have the key itself), else the SSM parameter.
 */
export function webhookKeySource(
  cfg: { WEBHOOK_SIGNING_KEY?: string | undefined; WEBHOOK_SIGNING_KEY_PARAMETER?: string | undefined },
  fromSsm: (name: string) => WebhookKeySource,
): WebhookKeySource {
  if (cfg.WEBHOOK_SIGNING_KEY !== undefined) return staticWebhookKey(cfg.WEBHOOK_SIGNING_KEY);
  return fromSsm(cfg.WEBHOOK_SIGNING_KEY_PARAMETER ?? '');
}
