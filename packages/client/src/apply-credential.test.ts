import { describe, expect, it } from 'vitest';
import { applyCredential, encodeBasic } from './apply-credential.js';
import { securitySchemes } from './generated/security.gen.js';
import { classifyScheme, type SchemeChoice } from './security.js';

const KEY = 'lk_4GqNv0Qm8ZrT2cYwX7bLp1sDk9HfE3aJ1Z0f2k';
const choice = (name: keyof typeof securitySchemes): SchemeChoice => ({
  name,
  kind: classifyScheme(securitySchemes[name]),
  definition: securitySchemes[name],
});
const apply = (
  request: Request,
  name: keyof typeof securitySchemes,
  value: Parameters<typeof applyCredential>[2],
) => applyCredential(request, choice(name), value, securitySchemes);

describe('applyCredential', () => {
  it('adds a query key to a URL without a query, and next to an existing one', async () => {
    const bare = await apply(new Request('http://h/api/v1/auth/whoami'), 'QueryApiKey', {
      type: 'secret',
      value: KEY,
    });
    expect(bare.url).toBe(`http://h/api/v1/auth/whoami?api_key=${KEY}`);
    const withQuery = await apply(new Request('http://h/api/v1/keys?limit=5'), 'QueryApiKey', {
      type: 'secret',
      value: KEY,
    });
    expect(new URL(withQuery.url).searchParams.toString()).toBe(`limit=5&api_key=${KEY}`);
  });

  it('keeps the method, body and other headers when it moves the request to a new URL', async () => {
    const original = new Request('http://h/api/v1/keys', {
      method: 'POST',
      body: '{"name":"ci"}',
      headers: { 'Content-Type': 'application/json', 'X-Trace': '7' },
    });
    const sent = await apply(original, 'QueryApiKey', { type: 'secret', value: KEY });
    expect(sent.method).toBe('POST');
    expect(await sent.text()).toBe('{"name":"ci"}');
    expect(sent.headers.get('content-type')).toBe('application/json');
    expect(sent.headers.get('x-trace')).toBe('7');
  });

  it('removes every other credential the contract knows of, in headers and query', async () => {
    const stale = new Request(`http://h/api/v1/auth/whoami?api_key=old&x=1`, {
      headers: { 'X-API-Key': 'old', Authorization: 'Token old' },
    });
    const sent = await apply(stale, 'BearerAuth', { type: 'secret', value: 'jwt' });
    expect(sent.url).toBe('http://h/api/v1/auth/whoami?x=1');
    expect([...sent.headers]).toEqual([['authorization', 'Bearer jwt']]);
  });

  it('writes Token and X-API-Key forms, and Basic as UTF-8', async () => {
    const request = () => new Request('http://h/');
    expect(
      (await apply(request(), 'TokenAuth', { type: 'secret', value: KEY })).headers.get('authorization'),
    ).toBe(`Token ${KEY}`);
    expect(
      (await apply(request(), 'ApiKeyHeader', { type: 'secret', value: KEY })).headers.get('x-api-key'),
    ).toBe(KEY);
    const basic = await apply(request(), 'BasicAuth', {
      type: 'password',
      value: { username: 'zoë', password: 'pw' },
    });
    expect(basic.headers.get('authorization')).toBe('Basic em/Dqzpwdw==');
    expect(encodeBasic({ username: 'a', password: 'b:c' })).toBe(btoa('a:b:c'));
  });

  it('adds the CSRF token for the session cookie on unsafe methods only', async () => {
    const session = { type: 'session', csrfToken: 'csrf' } as const;
    for (const [method, expected] of [
      ['GET', null],
      ['HEAD', null],
      ['POST', 'csrf'],
      ['PATCH', 'csrf'],
      ['DELETE', 'csrf'],
    ] as const) {
      const sent = await apply(new Request('http://h/', { method }), 'SessionCookie', session);
      expect(sent.headers.get('x-csrf-token'), method).toBe(expected);
    }
  });

  it('refuses a value that does not fit the scheme instead of sending no credential', async () => {
    await expect(
      apply(new Request('http://h/'), 'BasicAuth', { type: 'secret', value: KEY }),
    ).rejects.toThrow(/username and password/);
    await expect(
      apply(new Request('http://h/'), 'ApiKeyHeader', { type: 'session', csrfToken: undefined }),
    ).rejects.toThrow(/key or token/);
  });
});
