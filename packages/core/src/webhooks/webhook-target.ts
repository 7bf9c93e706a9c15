// Where a webhook may send: the rules against server-side request forgery. Pure checks of the
// URL and of addresses (ipaddr.js, so that they run in browsers too), and the resolution
// step that finds the one address a delivery connects to. Nothing here opens a connection.
import ipaddr from 'ipaddr.js';
import { ipAllowed, normaliseIpRule } from '../net/ip-rules.js';

/** What the operator allows beyond public https targets. */
export interface TargetPolicy {
  /** Accept http:// URLs (LATCHKEY_WEBHOOK_ALLOW_HTTP). */
  allowHttp: boolean;
  /**
   * Host names (lower case) and address rules (addresses or CIDR ranges, normalised) that
   * may be targets although they are private (LATCHKEY_WEBHOOK_ALLOWED_HOSTS).
   */
  allowedHosts: readonly string[];
}

export type UrlCheck =
  | {
      ok: true;
      url: URL;
      /** The host name as URLs compare it (lower case, IPv6 without brackets). */
      host: string;
      /** The address when the URL names one instead of a host name. */
      address: string | undefined;
    }
  | { ok: false; reason: string };

export type TargetResolution =
  | { ok: true; url: URL; host: string; address: string | undefined }
  | { ok: false; kind: 'refused' | 'unresolved'; reason: string };

/** Names that are loopback or a cloud's metadata service whatever a resolver says. */
const FORBIDDEN_NAMES = ['localhost', 'metadata.google.internal', 'metadata.goog'];
/** Cloud metadata services (AWS, GCP, Azure, OpenStack; AWS over IPv6; Alibaba; Oracle). */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192']);

const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  uniqueLocal: 'a private (unique local) address',
  linkLocal: 'a link-local address',
  carrierGradeNat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * Normalises the operator's list: address rules as `normaliseIpRule` writes them, host names
 * in lower case. Throws naming the first entry that is neither.
 */
export function parseAllowedHosts(entries: readonly string[]): string[] {
  return entries.map((entry) => {
    const rule = normaliseIpRule(entry.replace(/^\[|\]$/g, ''));
    if (rule) return rule;
    const name = entry.trim().toLowerCase().replace(/\.$/, '');
    if (!HOST_NAME.test(name) || /^[\d.]+$/.test(name) || /^0x/i.test(name)) {
      throw new Error(`"${entry}" is not a host name, an IP address or a CIDR range`);
    }
    return name;
  });
}

/**
 * What an address is when it may not be a target ("a loopback address"), or undefined when
 * it may: only public unicast addresses may, and those the operator's list opens.
 */
export function addressProblem(address: string, policy: TargetPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let parsed = ipaddr.parse(address);
  let inside = '';
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    inside = ' inside an IPv4-mapped IPv6 address';
  }
  const plain = parsed.toString();
  const rules = policy.allowedHosts.filter((h) => /[:.]/.test(h) && normaliseIpRule(h) === h);
  if (rules.some((rule) => ipAllowed([rule], plain) || ipAllowed([rule], address))) return undefined;
  if (METADATA_ADDRESSES.has(plain)) return `a cloud metadata address${inside}`;
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  return `${RANGE_WORDS[range] ?? `a special-purpose address (${range})`}${inside}`;
}

/** True when the operator opened this host name. */
function hostOpened(host: string, policy: TargetPolicy): boolean {
  return policy.allowedHosts.includes(host);
}

/**
 * The authority and host as written in the URL, before the URL parser normalised them (it
 * reads `2130706433` as `127.0.0.1`); the host in lower case, IPv6 without brackets.
 */
function written(raw: string): { authority: string; host: string } | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:[\\/]{2}([^\\/?#]*)/i.exec(raw)?.[1];
  if (authority === undefined) return undefined;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1).toLowerCase();
  const host = hostPort.startsWith('[')
    ? hostPort.slice(1, hostPort.indexOf(']'))
    : hostPort.replace(/:\d*$/, '');
  return { authority, host };
}

/**
 * Checks what can be checked without a resolver: the scheme (https; http only when allowed),
 * no credentials, a host, an IPv4 address only in four decimal parts (never `2130706433`,
 * `0x7f000001` or `0177.0.0.1`, which URL parsers read as addresses), and a literal address
 * or a well-known name that is not private, loopback, link-local, metadata and so on unless
 * the operator allows it.
 */
export function checkWebhookUrl(raw: string, policy: TargetPolicy): UrlCheck {
  if ([...raw].some((ch) => ch.charCodeAt(0) <= 0x20 || ch.charCodeAt(0) === 0x7f)) {
    return { ok: false, reason: 'must not contain spaces or control characters' };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  if (url.protocol === 'http:') {
    if (!policy.allowHttp) {
      return {
        ok: false,
        reason: 'must use https (the operator can allow http with LATCHKEY_WEBHOOK_ALLOW_HTTP)',
      };
    }
  } else if (url.protocol !== 'https:') {
    return { ok: false, reason: `must use https, not ${url.protocol.replace(/:$/, '')}` };
  }
  const as = written(raw);
  if (url.username || url.password || as?.authority.includes('@')) {
    return { ok: false, reason: 'must not contain a username or password' };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (!host) return { ok: false, reason: 'must name a host' };
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) {
    if (as?.host.replace(/\.$/, '') !== host) {
      return {
        ok: false,
        reason: `must write an IPv4 address as four decimal numbers (${as?.host ?? 'the host'} means ${host})`,
      };
    }
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(host) || host.includes(':')) {
    const problem = addressProblem(host, policy);
    return problem
      ? { ok: false, reason: `is not allowed: ${host} is ${problem}` }
      : { ok: true, url, host, address: host };
  }
  if (
    !hostOpened(host, policy) &&
    FORBIDDEN_NAMES.some((name) => host === name || host.endsWith(`.${name}`))
  ) {
    return { ok: false, reason: `is not allowed: ${host} is a loopback or metadata host name` };
  }
  return { ok: true, url, host, address: undefined };
}

/**
 * The address a delivery may connect to: the URL's own, or the first address its host
 * resolves to once every address it resolves to passed the checks (a host that resolves to
 * one public and one private address is refused). Without a resolver (the mock) host names
 * pass on the URL checks alone.
 */
export async function resolveWebhookTarget(
  raw: string,
  policy: TargetPolicy,
  resolve: ((host: string) => Promise<string[]>) | undefined,
): Promise<TargetResolution> {
  const checked = checkWebhookUrl(raw, policy);
  if (!checked.ok) return { ok: false, kind: 'refused', reason: checked.reason };
  const { url, host, address } = checked;
  if (address !== undefined || !resolve) return { ok: true, url, host, address };
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    return { ok: false, kind: 'unresolved', reason: `${host} did not resolve (${(err as Error).message})` };
  }
  if (!addresses.length) return { ok: false, kind: 'unresolved', reason: `${host} did not resolve` };
  if (!hostOpened(host, policy)) {
    for (const a of addresses) {
      const problem = addressProblem(a, policy);
      if (problem) {
        return { ok: false, kind: 'refused', reason: `is not allowed: ${host} resolves to ${a}, ${problem}` };
      }
    }
  }
  return { ok: true, url, host, address: addresses[0] };
}
