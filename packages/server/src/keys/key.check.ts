import { BlockList, isIP } from 'node:net';

// Pure decisions about a key record; handlers turn the codes into responses.

export type KeyCheck = 'VALID' | 'DISABLED' | 'EXPIRED' | 'USER_INACTIVE';

export interface KeyState {
  is_active: number | boolean;
  expires_at: string | null;
  user_is_active: number | boolean;
}

export function checkKey(key: KeyState, now: Date): KeyCheck {
  if (!key.user_is_active) return 'USER_INACTIVE';
  if (!key.is_active) return 'DISABLED';
  if (key.expires_at !== null && key.expires_at <= now.toISOString()) return 'EXPIRED';
  return 'VALID';
}

/** Parses an address or CIDR range; undefined when it is neither. Returns it normalised. */
export function normaliseIpRule(rule: string): string | undefined {
  const [address, bits, extra] = rule.trim().split('/');
  if (extra !== undefined || !address) return undefined;
  const family = isIP(address);
  if (!family) return undefined;
  if (bits === undefined) return address.toLowerCase();
  if (!/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (family === 4 ? 32 : 128)) return undefined;
  return `${address.toLowerCase()}/${prefix}`;
}

function stripMappedV4(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** True when the client address matches one of the rules, or when there are none. */
export function ipAllowed(rules: readonly string[], clientIp: string): boolean {
  if (rules.length === 0) return true;
  const ip = stripMappedV4(clientIp);
  const family = isIP(ip);
  if (!family) return false;
  const list = new BlockList();
  for (const rule of rules) {
    const [address, bits] = rule.split('/');
    if (!address) continue;
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}
