/**
 * The SSRF guard of integration calls (lib/adapters/http/address-guard.ts): which
 * addresses are private in every notation a URL or a DNS answer can carry them, the
 * allow-list and local-stage policy, and the DNS lookup that checks the address the
 * connection will actually use.
 */
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  BlockedAddressError,
  guardedLookup,
  hostIsTrusted,
  isPrivateAddress,
} from '../../lib/adapters/http/address-guard.js';
import { createIntegrationClient } from '../../lib/adapters/http/integration-client.js';
import { createHttpAgents } from '../../lib/clients.js';
import { IntegrationError } from '../../lib/engine/ports/integrations.js';

/** The host as the integration client sees it: parsed (and normalized) by the WHATWG URL parser. */
const hostOf = (url: string) => new URL(url).hostname.replace(/^\[|\]$/g, '');

describe('isPrivateAddress', () => {
  it.each([
    // loopback, in every IPv4 notation the URL parser accepts
    'http://127.0.0.1/',
    'http://127.1/',
    'http://127.255.255.254/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    // unspecified, private, CGNAT, benchmark, multicast, reserved
    'http://0.0.0.0/',
    'http://0/',
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://172.31.255.255/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://198.18.0.1/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    // the cloud metadata address and its disguises
    'http://169.254.169.254/',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.170.2/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[0:0:0:0:0:ffff:a9fe:a9fe]/',
    'http://[::169.254.169.254]/',
    'http://[::ffff:0:a9fe:a9fe]/',
    'http://[64:ff9b::169.254.169.254]/',
    'http://[64:ff9b:1::a9fe:a9fe]/',
    'http://[fd00:ec2::254]/',
    // IPv6 loopback, unspecified, unique-local, link-local, multicast
    'http://[::1]/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[::]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fc00::1]/',
    'http://[fd12:3456::1]/',
    'http://[fe80::1]/',
    'http://[ff02::1]/',
  ])('%s is private', (url) => {
    expect(isPrivateAddress(hostOf(url))).toBe(true);
  });

  it.each([
    'http://8.8.8.8/',
    'http://203.0.113.9/',
    'http://1.1.1.1/',
    'http://[2606:4700:4700::1111]/',
    'http://[::ffff:8.8.8.8]/',
    'http://[64:ff9b::8.8.8.8]/',
  ])('%s is public', (url) => {
    expect(isPrivateAddress(hostOf(url))).toBe(false);
  });

  it('anything that is not an IP literal counts as private (fail closed)', () => {
    for (const v of ['', 'localhost', 'not-an-ip', '1.2.3', '[::1', '::1]x']) expect(isPrivateAddress(v), v).toBe(true);
  });
});

describe('trust policy', () => {
  it('only the allow-list or the local stage trusts a host', () => {
    const prod = { allowPrivate: false, allowedHosts: ['intel.internal', '10.1.2.3', '::1'] };
    expect(hostIsTrusted(prod, 'intel.internal')).toBe(true);
    expect(hostIsTrusted(prod, 'INTEL.internal')).toBe(true);
    expect(hostIsTrusted(prod, '10.1.2.3')).toBe(true);
    expect(hostIsTrusted(prod, '[::1]')).toBe(true);
    expect(hostIsTrusted(prod, 'evil.intel.internal')).toBe(false);
    expect(hostIsTrusted(prod, '10.1.2.4')).toBe(false);
    expect(hostIsTrusted({ allowPrivate: true, allowedHosts: [] }, '169.254.169.254')).toBe(true);
  });
});

describe('guardedLookup (the address actually connected to)', () => {
  const lookup = (policy: { allowPrivate: boolean; allowedHosts: string[] }, host: string, all = false) =>
    new Promise<{ err: Error | null; address: unknown }>((resolve) => {
      guardedLookup(policy)(host, { all }, (err, address) => resolve({ err, address }));
    });

  it('refuses a name whose DNS answer is loopback', async () => {
    for (const host of ['localhost', 'LOCALHOST']) {
      const { err } = await lookup({ allowPrivate: false, allowedHosts: [] }, host);
      expect(err, host).toBeInstanceOf(BlockedAddressError);
    }
  });

  it('passes the answer through for an allow-listed name, and in the local stage', async () => {
    for (const policy of [
      { allowPrivate: false, allowedHosts: ['localhost'] },
      { allowPrivate: true, allowedHosts: [] },
    ]) {
      const one = await lookup(policy, 'localhost');
      expect(one.err).toBeNull();
      expect(isPrivateAddress(String(one.address))).toBe(true);
      const all = await lookup(policy, 'localhost', true);
      expect(all.err).toBeNull();
      expect((all.address as LookupAddress[]).length).toBeGreaterThan(0);
    }
  });

  it('reports resolution failures as they are', async () => {
    const { err } = await lookup({ allowPrivate: false, allowedHosts: [] }, 'does-not-exist.invalid');
    expect(err).not.toBeNull();
    expect(err).not.toBeInstanceOf(BlockedAddressError);
  });
});

describe('integration client policy', () => {
  const agents = createHttpAgents(2);
  const client = (allowPrivate: boolean, allowedHosts: string[] = []) =>
    createIntegrationClient({ agents, maxResponseBytes: 1024, allowPrivate, allowedHosts });
  const req = (url: string) => ({ method: 'GET', url, headers: {}, body: undefined, timeoutMs: 2_000 });

  it('refuses private literals and names that resolve to them, without retry, outside the local stage', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fd00:ec2::254]/',
      'http://localhost:1/',
      'http://127.1:1/',
    ]) {
      const err = await client(false)
        .request(req(url))
        .catch((e: unknown) => e);
      expect(err, url).toBeInstanceOf(IntegrationError);
      expect((err as IntegrationError).code, url).toBe('TARGET_BLOCKED');
      expect((err as IntegrationError).retryable, url).toBe(false);
    }
  });

  it('refuses schemes other than http and https', async () => {
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'ftp://x.example/', 'data:,x']) {
      const err = await client(true)
        .request(req(url))
        .catch((e: unknown) => e);
      expect((err as IntegrationError).code, url).toBe('INVALID_URL');
    }
  });
});
