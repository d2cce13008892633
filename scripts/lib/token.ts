/** Mints HS256 tokens for the local stage and the tests (never used in deployed stages). */
import { SignJWT } from 'jose';

export interface TokenClaims {
  tenant: string;
  sub: string;
  expiresIn?: string;
}

/** A signed token carrying tenant_code and sub. */
export async function mintToken(secret: string, claims: TokenClaims): Promise<string> {
  return new SignJWT({ tenant_code: claims.tenant })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? '12h')
    .sign(new TextEncoder().encode(secret));
}
