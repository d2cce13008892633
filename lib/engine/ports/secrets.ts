/** Integration secrets by name, scoped to a tenant (SSM Parameter Store SecureStrings in AWS). */

export interface SecretResolver {
  /** The value of every name for the tenant; throws SecretError. */
  resolve(tenant_code: string, names: string[]): Promise<Record<string, string>>;
}

/**
 * A secret that does not exist or is used other than directly (not retryable), or a secret
 * store that did not answer (retryable).
 */
export class SecretError extends Error {
  constructor(
    readonly code: 'SECRET_NOT_FOUND' | 'SECRET_MISUSE' | 'SECRETS_UNAVAILABLE',
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SecretError';
  }
}
