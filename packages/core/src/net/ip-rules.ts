// Client addresses and the address rules of keys and trusted proxies, parsed by ipaddr.js
// so that the same rules run in Node and in browsers.
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Four dotted decimals or a standard IPv6 address; nothing shorter, longer or zoned. */
function parseAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (text.includes(':') && !text.includes('%') && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

/** 4 or 6 for an address, 0 for anything else (as node:net's isIP). */
export function ipFamily(text: string): 0 | 4 | 6 {
  const parsed = parseAddress(text);
  return parsed === undefined ? 0 : parsed.kind() === 'ipv4' ? 4 : 6;
}

/** `::ffff:10.0.0.1` as `10.0.0.1`; every other text unchanged. */
export function stripMappedV4(ip: string): string {
  if (!ip.toLowerCase().startsWith('::ffff:')) return ip;
  const parsed = parseAddress(ip);
  return parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress()
    ? parsed.toIPv4Address().toString()
    : ip;
}

/** Parses an address or CIDR range; undefined when it is neither. Returns it normalised. */
export function normaliseIpRule(rule: string): string | undefined {
  const [address, bits, extra] = rule.trim().split('/');
  if (extra !== undefined || !address) return undefined;
  const parsed = parseAddress(address);
  if (!parsed) return undefined;
  if (bits === undefined) return address.toLowerCase();
  if (!/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (parsed.kind() === 'ipv4' ? 32 : 128)) return undefined;
  return `${address.toLowerCase()}/${prefix}`;
}

/** Parses a list of address rules; throws naming the first bad one. */
export function parseIpRules(rules: readonly string[]): string[] {
  return rules.map((rule) => {
    const normal = normaliseIpRule(rule);
    if (!normal) throw new Error(`"${rule}" is not an IP address or CIDR range`);
    return normal;
  });
}

/** True when the client address matches one of the (normalised) rules, or when there are none. */
export function ipAllowed(rules: readonly string[], clientIp: string): boolean {
  if (rules.length === 0) return true;
  const ip = parseAddress(stripMappedV4(clientIp));
  if (!ip) return false;
  for (const rule of rules) {
    const [address, bits] = rule.split('/');
    const net = address ? parseAddress(address) : undefined;
    if (!net || net.kind() !== ip.kind()) continue;
    const prefix = bits === undefined ? (ip.kind() === 'ipv4' ? 32 : 128) : Number(bits);
    if ((ip as ipaddr.IPv4).match(net as ipaddr.IPv4, prefix)) return true;
  }
  return false;
}

/**
 * The client's address. The socket's address, unless that is a trusted proxy: then the
 * X-Forwarded-For chain is read from the right, skipping trusted proxies, and the first
 * address that is not one is the client. A forged header from anyone else is ignored.
 */
export function resolveClientIp(
  socketAddress: string,
  forwardedFor: string | undefined,
  trustedProxies: readonly string[],
): string {
  const socket = stripMappedV4(socketAddress);
  if (trustedProxies.length === 0 || !forwardedFor || !ipAllowed(trustedProxies, socket)) return socket;
  const hops = forwardedFor
    .split(',')
    .map((h) => stripMappedV4(h.trim()))
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!ipFamily(hop)) return socket;
    if (!ipAllowed(trustedProxies, hop)) return hop;
  }
  return hops[0] ?? socket;
}

/** An address as lockouts are keyed: plain IPv4 (never IPv4-mapped IPv6) or lower-case IPv6. */
export function canonicalAddress(address: string): string | undefined {
  if (!ipFamily(address)) return undefined;
  return stripMappedV4(address.toLowerCase());
}
