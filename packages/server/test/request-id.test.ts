import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describeEachDialect('request ids', (dialect) => {
  let s: TestServer;
  /** Every line the server logged, parsed. */
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    s = await startTestServer(dialect, {}, { logger });
  });
  afterAll(() => s.close());

  const logged = (requestId: string) => lines.filter((l) => l.requestId === requestId);

  it('gives every response a new id when the request brings none', async () => {
    const a = await s.fetch('/health');
    const b = await s.fetch('/health');
    expect(a.headers.get('x-request-id')).toMatch(UUID);
    expect(b.headers.get('x-request-id')).toMatch(UUID);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });

  it('reuses an incoming X-Request-Id, and logs the request under it', async () => {
    const id = 'edge-7f3a:2026/12/01+req=42_x.y@lb-1';
    const res = await s.call('/meta', { headers: { 'x-request-id': id } });
    expectStatus(res, 200);
    expect(res.headers.get('x-request-id')).toBe(id);
    expect(logged(id)).toEqual([
      expect.objectContaining({ msg: 'request', requestId: id, method: 'GET', path: '/meta', status: 200 }),
    ]);
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['with a space', 'two words'],
    ['two ids joined', 'abc, def'],
    ['with quotes', 'x"}{"admin":true'],
    ['with markup', '<script>alert(1)</script>'],
  ])('replaces an id %s with a new one', async (_, bad) => {
    const res = await s.fetch('/meta', { headers: { 'x-request-id': bad } });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id') ?? '';
    expect(id).toMatch(UUID);
    expect(logged(id)).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain(bad.slice(0, 20));
  });

  it('logs no credential and no query string in the request line', async () => {
    const queryKey = `lk_${'Q'.repeat(32)}QUERYK`;
    const headerKey = `lk_${'H'.repeat(32)}HEADER`;
    await s.fetch(`/api/v1/auth/whoami?api_key=${queryKey}`, { headers: { 'x-request-id': 'query-key' } });
    await s.fetch('/api/v1/auth/whoami', {
      headers: { 'x-request-id': 'header-key', 'x-api-key': headerKey },
    });
    for (const id of ['query-key', 'header-key']) {
      expect(logged(id)).toEqual([
        expect.objectContaining({ msg: 'request', requestId: id, path: '/api/v1/auth/whoami', status: 401 }),
      ]);
    }
    const text = JSON.stringify(lines);
    expect(text).not.toContain('QQQQ');
    expect(text).not.toContain('HHHH');
    expect(text).not.toContain('api_key=');
  });

  it('keeps the longest accepted id (128 characters) as it is', async () => {
    const id = 'b'.repeat(128);
    expect((await s.fetch('/meta', { headers: { 'x-request-id': id } })).headers.get('x-request-id')).toBe(
      id,
    );
  });

  it('puts the id in every problem: header and request_id agree', async () => {
    const cases = [
      { r: await s.call('/api/v1/auth/whoami'), status: 401, code: 'AUTHENTICATION_REQUIRED' },
      { r: await s.call('/api/v1/nothing-here'), status: 404, code: 'NOT_FOUND' },
      {
        r: await s.call('/api/v1/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"username":',
        }),
        status: 400,
        code: 'MALFORMED_JSON',
      },
      {
        r: await s.call('/api/v1/auth/whoami', { headers: { 'x-request-id': 'client-chosen-1' } }),
        status: 401,
        code: 'AUTHENTICATION_REQUIRED',
      },
    ];
    for (const { r, status, code } of cases) {
      expectProblem(r, status, code);
      const id = r.headers.get('x-request-id');
      expect(id).toBeTruthy();
      expect(r.body.request_id).toBe(id);
    }
    expect(cases[3]?.r.body.request_id).toBe('client-chosen-1');
  });

  it('logs the trace and span ids of a valid traceparent, and ignores an invalid one', async () => {
    const good = await s.fetch('/meta', { headers: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` } });
    const goodId = good.headers.get('x-request-id') ?? '';
    expect(logged(goodId)).toEqual([expect.objectContaining({ traceId: TRACE_ID, spanId: SPAN_ID })]);
    for (const bad of [
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      'not a traceparent',
    ]) {
      const res = await s.fetch('/meta', { headers: { traceparent: bad } });
      const [line] = logged(res.headers.get('x-request-id') ?? '');
      expect(line, bad).toBeDefined();
      expect(line, bad).not.toHaveProperty('traceId');
    }
    // A later version may carry more fields; its first four are read.
    const future = await s.fetch('/meta', { headers: { traceparent: `01-${TRACE_ID}-${SPAN_ID}-01-more` } });
    expect(logged(future.headers.get('x-request-id') ?? '')).toEqual([
      expect.objectContaining({ traceId: TRACE_ID }),
    ]);
  });

  it('logs the error of a request that fails under the same id as its answer', async () => {
    const other = await startTestServer(
      dialect,
      {},
      {
        logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
      },
    );
    try {
      const { key } = await other.createKey(await other.createUser('erin'));
      await other.app.storage.close();
      const res = await other.call('/api/v1/auth/whoami', {
        headers: { 'x-api-key': key, 'x-request-id': 'failing-request-1' },
      });
      expect(res.status).toBe(500);
      expect(res.headers.get('x-request-id')).toBe('failing-request-1');
      expect(res.body.request_id).toBe('failing-request-1');
      const mine = logged('failing-request-1');
      expect(mine.map((l) => l.msg)).toEqual(['unhandled error', 'request']);
      expect(mine[0]).toMatchObject({ level: 50, requestId: 'failing-request-1' });
    } finally {
      await other.close().catch(() => {});
    }
  });
});
