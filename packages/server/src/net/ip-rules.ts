import { BlockList, isIP } from 'node:net';

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

/** `::ffff:10.0.0.1` as `10.0.0.1`. */
export function stripMappedV4(ip: string): string {
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

/** Parses a list of address rules; throws naming the first bad one. */
export function parseIpRules(rules: readonly string[]): string[] {
  return rules.map((rule) => {
    const normal = normaliseIpRule(rule);
    if (!normal) throw new Error(`"${rule}" is not an IP address or CIDR range`);
    return normal;
  });
}
