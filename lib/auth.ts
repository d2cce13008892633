/**
 * Bearer-token verification for the Lambda REQUEST authorizer: HS256 with a
 * shared secret (local and tests) or a JWKS with issuer and audience (AWS).
 * Only `tenant_code` and `sub` leave this module.
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Config } from './config.js';
import { userActorProblem } from './domain/audit.js';

export interface Principal {
  tenant_code: string;
  sub: string;
}

const TENANT = /^[A-Za-z0-9_-]{1,64}$/;

export type TokenVerifier = (token: string) => Promise<Principal | null>;

/** A token without an expiry would be valid for ever once leaked: refused like an expired one. */
const REQUIRED_CLAIMS = ['exp'];

function principalOf(payload: JWTPayload): Principal | null {
  const tenant = payload.tenant_code;
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) return null;
  // `sub` is the actor of the caller's changes in the audit log: a name the engine's own triggers use is refused.
  if (typeof payload.sub !== 'string' || userActorProblem(payload.sub) !== null) return null;
  return { tenant_code: tenant, sub: payload.sub };
}

/** A verifier for the configured mode; null for any invalid, expired or incomplete token. */
export function createTokenVerifier(cfg: Config<'auth'>): TokenVerifier {
  if (cfg.AUTH_JWKS_URL) {
    const jwks = createRemoteJWKSet(new URL(cfg.AUTH_JWKS_URL));
    const opts = {
      algorithms: ['RS256', 'ES256', 'PS256'],
      requiredClaims: REQUIRED_CLAIMS,
      ...(cfg.AUTH_ISSUER ? { issuer: cfg.AUTH_ISSUER } : {}),
      ...(cfg.AUTH_AUDIENCE ? { audience: cfg.AUTH_AUDIENCE } : {}),
    };
    return async (token) => {
      try {
        return principalOf((await jwtVerify(token, jwks, opts)).payload);
      } catch {
        return null;
      }
    };
  }
  const secret = new TextEncoder().encode(cfg.AUTH_JWT_SECRET ?? '');
  return async (token) => {
    try {
      return principalOf(
        (await jwtVerify(token, secret, { algorithms: ['HS256'], requiredClaims: REQUIRED_CLAIMS })).payload,
      );
    } catch {
      return null;
    }
  };
}

/** The token of an `Authorization: Bearer <token>` header value. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(header?.trim() ?? '');
  return m?.[1];
}
