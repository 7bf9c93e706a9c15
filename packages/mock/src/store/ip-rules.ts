// Pure IP address and CIDR matching for a key's allowed_ips, without node:net so that it
// also runs in browsers.

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255 || (part.length > 1 && part.startsWith('0')))
      return undefined;
    out = (out << 8n) | BigInt(part);
  }
  return out;
}

function parseV6(text: string): bigint | undefined {
  let head = text;
  let v4tail: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    v4tail = parseV4(text.slice(lastColon + 1));
    if (v4tail === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let out = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out = (out << 16n) | BigInt(`0x${g}`);
  }
  if (v4tail !== undefined) out = (out & ~0xffffffffn) | v4tail;
  return out;
}

/** The family of an address (4 or 6) and its value, or undefined when it is not one. */
export function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = text.includes(':') ? parseV6(text) : undefined;
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** `::ffff:10.0.0.1` as `10.0.0.1`. */
export function stripMappedV4(ip: string): string {
  const lower = ip.toLowerCase();
  return lower.startsWith('::ffff:') && parseV4(lower.slice(7)) !== undefined ? lower.slice(7) : ip;
}

/** Parses an address or CIDR range; undefined when it is neither. Returns it normalised. */
export function normaliseIpRule(rule: string): string | undefined {
  const [address, bits, extra] = rule.trim().split('/');
  if (extra !== undefined || !address) return undefined;
  const ip = parseIp(address);
  if (!ip) return undefined;
  if (bits === undefined) return address.toLowerCase();
  if (!/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (ip.family === 4 ? 32 : 128)) return undefined;
  return `${address.toLowerCase()}/${prefix}`;
}

/** True when the client address matches one of the rules, or when there are none. */
export function ipAllowed(rules: readonly string[], clientIp: string): boolean {
  if (rules.length === 0) return true;
  const ip = parseIp(stripMappedV4(clientIp));
  if (!ip) return false;
  return rules.some((rule) => {
    const [address, bits] = rule.split('/');
    const net = address ? parseIp(address) : undefined;
    if (!net || net.family !== ip.family) return false;
    const width = ip.family === 4 ? 32n : 128n;
    const prefix = bits === undefined ? width : BigInt(bits);
    const shift = width - prefix;
    return ip.value >> shift === net.value >> shift;
  });
}
