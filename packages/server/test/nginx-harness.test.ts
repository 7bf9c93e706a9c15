// The nginx harness (support/nginx.ts) with a real nginx: plain proxying to the echo app, and
// the forward-auth pattern in front of it with a stand-in auth service that this file starts
// (its verdict comes from a request header): identity headers to the app, rate-limit headers to
// the client, and 401, 403 and 429 refusals passed on with the auth service's own status,
// headers and problem body, each request asked about once, over one kept-alive connection.
// Skipped, saying so, only when nginx cannot be found.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeServer,
  type EchoApp,
  type EchoedRequest,
  forwardAuthServer,
  listenLocally,
  NGINX,
  plainProxyServer,
  type RunningNginx,
  startEchoApp,
  startNginx,
  stopAllNginx,
  warnWithoutNginx,
} from './support/nginx.js';

warnWithoutNginx('nginx-harness.test.ts');

const IDENTITY = ['X-Auth-Method', 'X-Auth-User-Id', 'X-Auth-User-Username'];
const RATE_LIMITS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];

interface AuthCall {
  headers: IncomingHttpHeaders;
  method: string;
  url: string;
  bodyBytes: number;
}

/**
 * A stand-in for Latchkey's forward endpoint: `X-Test-Verdict: 401|403|429` refuses with a
 * problem body and the headers Latchkey sends; anything else allows, with the identity and
 * rate-limit headers and no body.
 */
async function startStandInAuth() {
  const calls: AuthCall[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => {
      bodyBytes += c.length;
    });
    req.on('end', () => {
      calls.push({ headers: req.headers, method: req.method ?? '', url: req.url ?? '', bodyBytes });
      const limits = {
        'X-RateLimit-Limit': '100',
        'X-RateLimit-Remaining': String(100 - calls.length),
        'X-RateLimit-Reset': '1767225600',
      };
      const verdict = Number(req.headers['x-test-verdict'] ?? 200);
      if (verdict === 200) {
        res.writeHead(200, {
          ...limits,
          'X-Auth-Method': 'HeaderTokenAuth',
          'X-Auth-User-Id': '0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10',
          'X-Auth-User-Username': 'alice',
          'Content-Length': '0',
        });
        res.end();
        return;
      }
      const extra: Record<string, string> =
        verdict === 401
          ? { 'WWW-Authenticate': 'Bearer realm="latchkey", error="invalid_token"' }
          : verdict === 429
            ? { 'Retry-After': '42' }
            : {};
      const problem = {
        type: `/docs/errors/TEST_${verdict}`,
        status: verdict,
        code: `TEST_${verdict}`,
        detail: `refused ${req.headers['x-original-method']} ${req.headers['x-original-uri']}`,
      };
      res.writeHead(verdict, {
        ...limits,
        ...extra,
        'Content-Type': 'application/problem+json',
        'Cache-Control': 'no-store',
      });
      res.end(JSON.stringify(problem));
    });
  });
  server.on('connection', () => connections++);
  const port = await listenLocally(server);
  return { port, calls, connections: () => connections, close: () => closeServer(server) };
}

describe.skipIf(!NGINX)('the nginx test harness', () => {
  let app: EchoApp;
  let auth: Awaited<ReturnType<typeof startStandInAuth>>;
  let nginx: RunningNginx;
  let plainUrl: string;
  let guardedUrl: string;

  beforeAll(async () => {
    app = await startEchoApp();
    auth = await startStandInAuth();
    nginx = await startNginx({
      ports: 2,
      http: ({ ports, dir }) =>
        [
          plainProxyServer({ listen: ports[0] as number, appServer: `127.0.0.1:${app.port}` }),
          forwardAuthServer({
            listen: ports[1] as number,
            dir,
            authServer: `127.0.0.1:${auth.port}`,
            authPath: '/check?permission=archive.snapshots:write',
            appServer: `127.0.0.1:${app.port}`,
            toApp: IDENTITY,
            toClient: RATE_LIMITS,
          }),
        ].join('\n\n'),
    });
    plainUrl = `http://127.0.0.1:${nginx.ports[0]}`;
    guardedUrl = `http://127.0.0.1:${nginx.ports[1]}`;
  });
  afterAll(async () => {
    await stopAllNginx();
    await app?.close();
    await auth?.close();
  });

  const lastEchoed = () => app.requests.at(-1) as EchoedRequest;

  it('starts nginx from a config in its own folder and proxies plain requests to the app', async () => {
    expect(nginx.config).toContain('daemon off;');
    expect(nginx.config).toContain(`pid ${nginx.dir}/nginx.pid;`);
    const res = await fetch(`${plainUrl}/api/v1/core/snapshots?limit=5`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-ArchiveBox-API-Key': 'abc' },
      body: '{"url":"https://example.org"}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      method: 'POST',
      url: '/api/v1/core/snapshots?limit=5',
      body: '{"url":"https://example.org"}',
      headers: { 'x-archivebox-api-key': 'abc', 'x-forwarded-for': '127.0.0.1' },
    });
    expect(auth.calls).toHaveLength(0);
  });

  it('passes an allowed request on with the identity from the auth service, replacing a forged one', async () => {
    const before = auth.calls.length;
    const res = await fetch(`${guardedUrl}/api/v1/core/snapshots?tag=a&tag=b`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': 'the-key', 'X-Auth-User-Id': 'forged' },
      body: '{"title":"t"}',
    });
    expect(res.status).toBe(200);
    expect(lastEchoed()).toMatchObject({
      method: 'PATCH',
      url: '/api/v1/core/snapshots?tag=a&tag=b',
      body: '{"title":"t"}',
    });
    expect(lastEchoed().headers).toMatchObject({
      'x-auth-method': 'HeaderTokenAuth',
      'x-auth-user-id': '0b9c7f4e-3c1a-4f7e-9d55-2a6f1c2b8e10',
      'x-auth-user-username': 'alice',
      'x-api-key': 'the-key',
    });
    expect(res.headers.get('x-ratelimit-limit')).toBe('100');
    expect(res.headers.get('x-ratelimit-remaining')).toBe(String(100 - auth.calls.length));
    expect(res.headers.get('x-ratelimit-reset')).toBe('1767225600');

    // The auth service saw the credential, the original method and URI, and no body.
    expect(auth.calls).toHaveLength(before + 1);
    const call = auth.calls.at(-1) as AuthCall;
    expect(call).toMatchObject({
      method: 'GET',
      url: '/check?permission=archive.snapshots:write',
      bodyBytes: 0,
    });
    expect(call.headers).toMatchObject({
      'x-api-key': 'the-key',
      'x-original-method': 'PATCH',
      'x-original-uri': '/api/v1/core/snapshots?tag=a&tag=b',
      'x-forwarded-for': '127.0.0.1',
    });
    expect(call.headers['content-length']).toBeUndefined();
  });

  it.each([
    [401, { 'www-authenticate': 'Bearer realm="latchkey", error="invalid_token"' }],
    [403, {}],
    [429, { 'retry-after': '42' }],
  ] as const)(
    'passes a %i on with the auth service status, headers and problem body',
    async (status, extra) => {
      const served = app.requests.length;
      const asked = auth.calls.length;
      const res = await fetch(`${guardedUrl}/api/v1/core/snapshots/1`, {
        method: 'DELETE',
        headers: { 'X-Test-Verdict': String(status) },
      });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toEqual({
        type: `/docs/errors/TEST_${status}`,
        status,
        code: `TEST_${status}`,
        detail: 'refused DELETE /api/v1/core/snapshots/1',
      });
      for (const [name, value] of Object.entries(extra)) expect(res.headers.get(name)).toBe(value);
      // Each header once, as the auth service sent it.
      expect(res.headers.get('www-authenticate')).toBe(
        status === 401 ? extra['www-authenticate' as never] : null,
      );
      expect(res.headers.get('x-ratelimit-limit')).toBe('100');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(100 - auth.calls.length));
      // Asked once, and the app never saw it.
      expect(auth.calls).toHaveLength(asked + 1);
      expect(app.requests).toHaveLength(served);
    },
  );

  it('keeps one connection to the auth service alive for every request', async () => {
    for (const verdict of ['200', '401', '200', '429', '200', '403', '200']) {
      await fetch(`${guardedUrl}/x`, { headers: { 'X-Test-Verdict': verdict } });
    }
    expect(auth.calls.length).toBeGreaterThan(10);
    expect(auth.connections()).toBe(1);
  });

  it('answers 502, and lets nothing through, when the auth service does not answer', async () => {
    await auth.close();
    const served = app.requests.length;
    const res = await fetch(`${guardedUrl}/api/v1/core/snapshots`);
    expect(res.status).toBe(502);
    expect(app.requests).toHaveLength(served);
    expect(nginx.errorLog()).toContain('auth request unexpected status: 502');
  });
});
