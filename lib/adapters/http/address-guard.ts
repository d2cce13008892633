/**
 * SSRF guard for integration calls: loopback, private, link-local (the cloud
 * metadata address among them), CGNAT, multicast and unspecified addresses are
 * refused unless private targets are allowed (stage `local`) or the host is
 * on the allow-list. The check runs on the address actually resolved for the
 * connection (a custom `lookup`), so DNS answers cannot smuggle a private target.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['fd00:ec2::', 32],
  // Forms that embed an IPv4 address the checks below would not extract: IPv4-compatible
  // (deprecated, `[::169.254.169.254]`), IPv4-translated (SIIT) and local-use NAT64.
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b:1::', 48],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** The IPv4 address embedded in an IPv4-mapped, -compatible or NAT64 IPv6 address, if any. */
function embeddedV4(address: string): string | undefined {
  const m = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] && hex[2]) {
    const hi = Number.parseInt(hex[1], 16);
    const lo = Number.parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** True when `address` (an IP literal) is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedV4(bare.toLowerCase());
    if (v4 !== undefined) return blocked.check(v4, 'ipv4');
    return blocked.check(bare, 'ipv6');
  }
  return true;
}

export interface GuardPolicy {
  allowPrivate: boolean;
  allowedHosts: string[];
}

export class BlockedAddressError extends Error {
  constructor(readonly host: string) {
    super(`integration target ${host} resolves to a private or link-local address`);
    this.name = 'BlockedAddressError';
  }
}

/** Whether a host skips the check (allow-listed, or private targets allowed). */
export function hostIsTrusted(policy: GuardPolicy, host: string): boolean {
  return policy.allowPrivate || policy.allowedHosts.includes(host.toLowerCase().replace(/^\[|\]$/g, ''));
}

/** A dns lookup for http.request that refuses private answers for untrusted hosts. */
export function guardedLookup(policy: GuardPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      if (!hostIsTrusted(policy, hostname) && list.some((a) => isPrivateAddress(a.address))) {
        return callback(new BlockedAddressError(hostname), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`no address for ${hostname}`), '', 0);
      return callback(null, first.address, first.family);
    });
  };
}
