/**
 * The authorizer as deployed stages run it: tokens verified against a JWKS (AUTH_JWKS_URL) with
 * issuer and audience. A local JWKS server publishes an RSA and an EC key (jose generates them);
 * RS256 and ES256 tokens with the right issuer, audience and expiry pass, through the real
 * authorizer and the in-process API Gateway to a real route; everything else is refused (403 at
 * the API): wrong issuer or audience, expired, no expiry, not yet valid, a key the JWKS does not
 * publish (under a known or an unknown kid), HS256 (also "signed" with the public key, the
 * algorithm confusion), alg none, missing tenant, a tampered payload, and any token once the
 * JWKS server is gone and the kid is unknown (never an exception).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, type KeyInput, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/api.js';
import { lambdaContext } from '../support/lambda-context.js';

const ISSUER = 'https://idp.test.example/';
const AUDIENCE = 'playbook-service';
const rsa = await generateKeyPair('RS256', { extractable: true });
const ec = await generateKeyPair('ES256', { extractable: true });
const stranger = await generateKeyPair('RS256', { extractable: true });
let jwksRequests = 0;

const jwks = {
  keys: [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ],
};
const server: Server = createServer((req, res) => {
  jwksRequests += 1;
  res.writeHead(req.url === '/.well-known/jwks.json' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify(req.url === '/.well-known/jwks.json' ? jwks : {}));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

// Before anything reads the auth config (a test file has its own module graph): JWKS mode only.
process.env.AUTH_JWKS_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
process.env.AUTH_ISSUER = ISSUER;
process.env.AUTH_AUDIENCE = AUDIENCE;
delete process.env.AUTH_JWT_SECRET;

type Authorizer = (event: unknown, context: unknown) => Promise<{ isAuthorized: boolean; context?: unknown }>;
let authorize: Authorizer;

beforeAll(async () => {
  authorize = (await import('../../functions/authorizer.js')).handler as unknown as Authorizer;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const nowS = () => Math.floor(Date.now() / 1000);
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

interface Mint {
  alg?: string;
  kid?: string;
  key?: KeyInput;
  claims?: JWTPayload;
  iss?: string | null;
  aud?: string | null;
  exp?: number | null;
  nbf?: number;
}

/** A token; by default a valid RS256 one for tenant-a. `null` leaves a claim out. */
function mint(m: Mint = {}): Promise<string> {
  let jwt = new SignJWT({ tenant_code: 'tenant-a', ...m.claims })
    .setProtectedHeader({ alg: m.alg ?? 'RS256', kid: m.kid ?? 'rsa-1', typ: 'JWT' })
    .setSubject('analyst-a')
    .setIssuedAt();
  if (m.iss !== null) jwt = jwt.setIssuer(m.iss ?? ISSUER);
  if (m.aud !== null) jwt = jwt.setAudience(m.aud ?? AUDIENCE);
  if (m.exp !== null) jwt = jwt.setExpirationTime(m.exp ?? nowS() + 600);
  if (m.nbf !== undefined) jwt = jwt.setNotBefore(m.nbf);
  return jwt.sign(m.key ?? rsa.privateKey);
}

async function decide(token: string): Promise<{ isAuthorized: boolean; context?: unknown }> {
  const event = { type: 'REQUEST', routeArn: 'arn:test', headers: { authorization: `Bearer ${token}` } };
  return authorize(event, lambdaContext('authorizer'));
}

describe('JWKS mode (deployed stages)', () => {
  it('RS256 and ES256 tokens with the right issuer, audience and expiry pass, also through a real route', async () => {
    expect(await decide(await mint())).toEqual({
      isAuthorized: true,
      context: { tenant_code: 'tenant-a', sub: 'analyst-a' },
    });
    expect(await decide(await mint({ alg: 'ES256', kid: 'ec-1', key: ec.privateKey }))).toMatchObject({
      isAuthorized: true,
      context: { tenant_code: 'tenant-a' },
    });
    const res = await api('GET', '/playbooks', { token: await mint() });
    expect(res.status).toBe(200);
    // The JWKS is fetched once and cached by the container.
    expect(jwksRequests).toBe(1);
  });

  it('refuses every other token (403 at the API), never throwing', async () => {
    const publicPem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const bad: Record<string, () => Promise<string>> = {
      'wrong issuer': () => mint({ iss: 'https://evil.example/' }),
      'no issuer': () => mint({ iss: null }),
      'wrong audience': () => mint({ aud: 'another-service' }),
      'no audience': () => mint({ aud: null }),
      expired: () => mint({ exp: nowS() - 60 }),
      'no expiry': () => mint({ exp: null }),
      'not yet valid': () => mint({ nbf: nowS() + 3600 }),
      'a key the JWKS does not publish, under a known kid': () => mint({ key: stranger.privateKey }),
      'an unknown kid': () => mint({ kid: 'rsa-2', key: stranger.privateKey }),
      'EC key declared as RS256': () =>
        mint({ kid: 'ec-1', key: ec.privateKey, alg: 'ES256', claims: {} }).then((t) => {
          const [, payload, sig] = t.split('.');
          return `${b64url({ alg: 'RS256', kid: 'ec-1', typ: 'JWT' })}.${payload}.${sig}`;
        }),
      'HS256 with a shared secret': () =>
        mint({ alg: 'HS256', key: new TextEncoder().encode('a-shared-secret-of-enough-length') }),
      'HS256 keyed with the public key (algorithm confusion)': () => mint({ alg: 'HS256', key: publicPem }),
      'alg none': async () =>
        `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ tenant_code: 'tenant-a', sub: 'a', iss: ISSUER, aud: AUDIENCE, exp: nowS() + 600 })}.`,
      'missing tenant_code': () => mint({ claims: { tenant_code: undefined } }),
      'tampered payload': async () => {
        const [header, , sig] = (await mint()).split('.');
        return `${header}.${b64url({ tenant_code: 'tenant-b', sub: 'analyst-a', iss: ISSUER, aud: AUDIENCE, exp: nowS() + 600 })}.${sig}`;
      },
    };
    for (const [what, make] of Object.entries(bad)) {
      const token = await make();
      expect(await decide(token), what).toEqual({ isAuthorized: false });
      expect((await api('GET', '/playbooks', { token })).status, what).toBe(403);
    }
  });

  it('with the JWKS server gone, a token under an unknown kid is refused, not an error', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    const token = await mint({ kid: 'rsa-rotated', key: stranger.privateKey });
    expect(await decide(token)).toEqual({ isAuthorized: false });
    // The keys already fetched still verify.
    expect(await decide(await mint())).toMatchObject({ isAuthorized: true });
  });
});
