/** Lambda REQUEST authorizer (HTTP API, simple responses): JWT -> { tenant_code, sub }. */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { bearerToken, createTokenVerifier } from '../lib/auth.js';
import { getConfig } from '../lib/config.js';
import { logger } from '../lib/observability.js';

const verify = createTokenVerifier(getConfig('auth'));

export interface AuthorizerResult {
  isAuthorized: boolean;
  context?: { tenant_code: string; sub: string };
}

export const handler = async (event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> => {
  const header = event.headers?.authorization ?? event.headers?.Authorization ?? event.identitySource?.[0];
  const token = bearerToken(header);
  const principal = token ? await verify(token) : null;
  if (!principal) {
    logger.info('token refused', { routeArn: event.routeArn });
    return { isAuthorized: false };
  }
  return { isAuthorized: true, context: { tenant_code: principal.tenant_code, sub: principal.sub } };
};
