import { isIP } from 'node:net';
import { ipAllowed, stripMappedV4 } from '../net/ip-rules.js';

/**
 * The client's address. The socket's address, unless that is a trusted proxy: then the
 * X-Forwarded-For chain is read from the right, skipping trusted proxies, and the first
 * address that is not one is the client. A forged header from anyone else is ignored.
 */
export function resolveClientIp(
  socketAddress: string,
  forwardedFor: string,
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
    if (!isIP(hop)) return socket;
    if (!ipAllowed(trustedProxies, hop)) return hop;
  }
  return hops[0] ?? socket;
}

/** An address as the server keys lockouts by it (lowercase, IPv4-mapped IPv6 as IPv4); undefined when it is not one. */
export function normalizeAddress(address: string): string | undefined {
  const trimmed = address.trim().toLowerCase();
  if (!isIP(trimmed)) return undefined;
  return stripMappedV4(trimmed);
}
