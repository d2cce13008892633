/**
 * Integration secrets from SSM Parameter Store (SecureString), through Powertools
 * Parameters: each secret is `${prefix}${tenant_code}/${NAME}`, read with decryption and
 * cached in the container for `maxAgeSeconds` (a warm function does not call SSM per task).
 * The tenant segment keeps one tenant's playbooks from reading another tenant's secrets.
 * Values never leave this module except as the resolver's answer (never logged).
 */
import { GetParameterError } from '@aws-lambda-powertools/parameters';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { SECRET_NAME } from '../../domain/secret-refs.js';
import { SecretError, type SecretResolver } from '../../engine/ports/secrets.js';

export interface SsmSecretsOptions {
  client: SSMClient;
  /** Path prefix ending with '/', e.g. `/playbook-service/prod/secrets/`. */
  prefix: string;
  /** How long a value is served from the container's cache. */
  maxAgeSeconds: number;
}

/** The default prefix of a stage's secrets. */
export function defaultSecretsPrefix(stage: string): string {
  return `/playbook-service/${stage}/secrets/`;
}

function isNotFound(err: unknown): boolean {
  const cause = err instanceof GetParameterError ? err.cause : err;
  return (cause as { name?: string } | undefined)?.name === 'ParameterNotFound';
}

/** A SecretResolver over SSM Parameter Store. */
export function createSsmSecretResolver(opts: SsmSecretsOptions): SecretResolver {
  const provider = new SSMProvider({ awsSdkV3Client: opts.client });
  return {
    async resolve(tenant_code, names) {
      const entries = await Promise.all(
        names.map(async (name): Promise<[string, string]> => {
          if (!SECRET_NAME.test(name))
            throw new SecretError('SECRET_NOT_FOUND', `'${name}' is not a secret name`, false);
          let value: string | undefined;
          try {
            value = await provider.get(`${opts.prefix}${tenant_code}/${name}`, {
              decrypt: true,
              maxAge: opts.maxAgeSeconds,
            });
          } catch (err) {
            if (isNotFound(err)) throw new SecretError('SECRET_NOT_FOUND', `secret '${name}' is not defined`, false);
            // The SDK's message may name the path or the endpoint, never the value: still, keep it out.
            throw new SecretError('SECRETS_UNAVAILABLE', `secret '${name}' could not be read, try again`, true);
          }
          if (typeof value !== 'string')
            throw new SecretError('SECRET_NOT_FOUND', `secret '${name}' is not defined`, false);
          return [name, value];
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}
