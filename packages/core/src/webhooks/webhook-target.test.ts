import { describe, expect, it } from 'vitest';
import {
  addressProblem,
  checkWebhookUrl,
  parseAllowedHosts,
  resolveWebhookTarget,
  type TargetPolicy,
} from './webhook-target.js';

const STRICT: TargetPolicy = { allowHttp: false, allowedHosts: [] };
const reason = (url: string, policy: TargetPolicy = STRICT) => {
  const checked = checkWebhookUrl(url, policy);
  return checked.ok ? 'ok' : checked.reason;
};

describe('checkWebhookUrl', () => {
  it('accepts a public https URL, and http only when the operator allows it', () => {
    expect(reason('https://hooks.example.com/latchkey?x=1')).toBe('ok');
    expect(reason('https://93.184.215.14:8443/in')).toBe('ok');
    expect(reason('http://hooks.example.com/in')).toMatch(/must use https.*LATCHKEY_WEBHOOK_ALLOW_HTTP/);
    expect(reason('http://hooks.example.com/in', { ...STRICT, allowHttp: true })).toBe('ok');
  });

  it.each([
    ['https://127.0.0.1/', /127\.0\.0\.1 is a loopback address/],
    ['https://[::1]/', /::1 is a loopback address/],
    ['https://[::ffff:127.0.0.1]/', /loopback address inside an IPv4-mapped IPv6 address/],
    ['https://2130706433/', /four decimal numbers \(2130706433 means 127\.0\.0\.1\)/],
    ['https://0x7f000001/', /four decimal numbers \(0x7f000001 means 127\.0\.0\.1\)/],
    ['https://0177.0.0.1/', /four decimal numbers/],
    ['https://127.1/', /four decimal numbers/],
    ['https://%31%32%37.0.0.1/', /four decimal numbers/],
    ['https://169.254.169.254/latest/meta-data/', /cloud metadata address/],
    ['https://[fd00:ec2::254]/', /cloud metadata address/],
    ['https://10.0.0.1/', /private address/],
    ['https://192.168.1.10/', /private address/],
    ['https://172.16.0.1/', /private address/],
    ['https://100.64.0.1/', /carrier-grade NAT/],
    ['https://[fe80::1]/', /link-local/],
    ['https://[fc00::1]/', /unique local/],
    ['https://224.0.0.1/', /multicast/],
    ['https://0.0.0.0/', /unspecified/],
    ['https://localhost/', /loopback or metadata host name/],
    ['https://api.localhost/', /loopback or metadata host name/],
    ['https://metadata.google.internal/', /loopback or metadata host name/],
    ['https://user:pass@hooks.example.com/', /username or password/],
    ['https://user@hooks.example.com/', /username or password/],
    ['https://@hooks.example.com/', /username or password/],
    ['file:///etc/passwd', /must use https, not file/],
    ['gopher://hooks.example.com/', /must use https, not gopher/],
    ['ftp://hooks.example.com/', /must use https, not ftp/],
    ['hooks.example.com/in', /not an absolute URL/],
    [' https://hooks.example.com/', /spaces/],
  ])('refuses %s', (url, why) => {
    expect(reason(url)).toMatch(why);
  });

  it('opens what the operator lists, and only that', () => {
    const policy: TargetPolicy = {
      allowHttp: true,
      allowedHosts: parseAllowedHosts(['127.0.0.0/8', '::1', 'localhost', '169.254.169.254', '10.0.0.1']),
    };
    expect(reason('http://127.0.0.1:8080/in', policy)).toBe('ok');
    expect(reason('http://[::1]/', policy)).toBe('ok');
    expect(reason('http://[::ffff:127.0.0.1]/', policy)).toBe('ok');
    expect(reason('http://localhost/', policy)).toBe('ok');
    expect(reason('http://169.254.169.254/', policy)).toBe('ok');
    expect(reason('http://10.0.0.1/', policy)).toBe('ok');
    expect(reason('http://10.0.0.2/', policy)).toMatch(/private/);
    // What no list opens: other forms of the same address, credentials, other schemes.
    expect(reason('http://2130706433/', policy)).toMatch(/four decimal numbers/);
    expect(reason('http://0x7f000001/', policy)).toMatch(/four decimal numbers/);
    expect(reason('http://user:pass@127.0.0.1/', policy)).toMatch(/username or password/);
    expect(reason('file:///etc/passwd', policy)).toMatch(/not file/);
  });
});

describe('parseAllowedHosts', () => {
  it('normalises addresses, ranges and names, and refuses the rest', () => {
    expect(parseAllowedHosts(['10.0.0.0/8', '[::1]', 'Receiver.Internal.', 'hooks'])).toEqual([
      '10.0.0.0/8',
      '::1',
      'receiver.internal',
      'hooks',
    ]);
    expect(() => parseAllowedHosts(['10.0.0.0/40'])).toThrow(/10\.0\.0\.0\/40/);
    expect(() => parseAllowedHosts(['2130706433'])).toThrow(/not a host name/);
    expect(() => parseAllowedHosts(['bad host'])).toThrow(/not a host name/);
  });
});

describe('addressProblem', () => {
  it('allows public unicast addresses only', () => {
    expect(addressProblem('93.184.215.14', STRICT)).toBeUndefined();
    expect(addressProblem('2606:4700::1111', STRICT)).toBeUndefined();
    expect(addressProblem('::ffff:93.184.215.14', STRICT)).toBeUndefined();
    expect(addressProblem('192.0.2.1', STRICT)).toMatch(/reserved/);
    expect(addressProblem('64:ff9b::7f00:1', STRICT)).toMatch(/special-purpose/);
    expect(addressProblem('2002:7f00:1::', STRICT)).toMatch(/special-purpose/);
  });
});

describe('resolveWebhookTarget', () => {
  const resolver = (answers: Record<string, string[]>) => async (host: string) => {
    const found = answers[host];
    if (!found) throw new Error('ENOTFOUND');
    return found;
  };

  it('connects to the first address once every address passed', async () => {
    const target = await resolveWebhookTarget(
      'https://hooks.example.com/in',
      STRICT,
      resolver({ 'hooks.example.com': ['93.184.215.14', '93.184.215.15'] }),
    );
    expect(target).toMatchObject({ ok: true, host: 'hooks.example.com', address: '93.184.215.14' });
  });

  it('refuses a name that resolves to a private address, even among public ones', async () => {
    const target = await resolveWebhookTarget(
      'https://rebind.example.com/',
      STRICT,
      resolver({ 'rebind.example.com': ['93.184.215.14', '127.0.0.1'] }),
    );
    expect(target).toEqual({
      ok: false,
      kind: 'refused',
      reason: 'is not allowed: rebind.example.com resolves to 127.0.0.1, a loopback address',
    });
  });

  it('says when a name does not resolve, and lets an opened name resolve anywhere', async () => {
    expect(await resolveWebhookTarget('https://nowhere.example/', STRICT, resolver({}))).toMatchObject({
      ok: false,
      kind: 'unresolved',
    });
    const opened = { allowHttp: false, allowedHosts: ['receiver.internal'] };
    expect(
      await resolveWebhookTarget(
        'https://receiver.internal/',
        opened,
        resolver({ 'receiver.internal': ['10.1.2.3'] }),
      ),
    ).toMatchObject({ ok: true, address: '10.1.2.3' });
  });
});
