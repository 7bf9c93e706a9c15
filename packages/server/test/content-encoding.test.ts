import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { UserRecord } from '@latchkey/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { describeEachDialect, PASSWORD, startTestServer, type TestServer } from './support/test-server.js';

// Compressed request bodies (Content-Encoding): decoded when valid, a 400 problem when the
// compressed data is corrupt or cut off, a 415 problem for a coding the server does not
// know; before authentication and on an authenticated endpoint alike, never a 500.

const COMPRESS: Record<string, (b: Buffer) => Buffer> = {
  gzip: gzipSync,
  deflate: deflateSync,
  br: brotliCompressSync,
};

describeEachDialect('compressed request bodies', (dialect) => {
  let s: TestServer;
  let user: UserRecord;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer(dialect);
    user = await s.createUser('zipper');
    key = (await s.createKey(user)).key;
  });
  afterAll(() => s.close());

  const keyCount = async () =>
    (await s.app.storage.db.selectFrom('api_keys').select('id').where('user_id', '=', user.id).execute())
      .length;

  const targets = [
    {
      name: 'login (anonymous)',
      path: '/api/v1/auth/login',
      headers: {} as Record<string, string>,
      body: () => ({ username: 'zipper', password: PASSWORD }),
      ok: 200,
    },
    {
      name: 'POST /api/v1/keys (authenticated)',
      path: '/api/v1/keys',
      headers: {} as Record<string, string>,
      body: () => ({ name: 'compressed' }),
      ok: 201,
    },
  ];

  for (const target of targets) {
    describe(target.name, () => {
      const send = (encoding: string, body: Buffer) =>
        s.call(target.path, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-encoding': encoding,
            ...(target.path === '/api/v1/keys' ? { 'x-api-key': key } : {}),
          },
          body,
        });

      for (const [encoding, compress] of Object.entries(COMPRESS)) {
        it(`${encoding}: a valid body is decoded; corrupt or cut-off data is 400 MALFORMED_BODY and changes nothing`, async () => {
          const good = compress(Buffer.from(JSON.stringify(target.body())));
          expectStatus(await send(encoding, good), target.ok);

          const before = await keyCount();
          const garbage = await send(
            encoding,
            Buffer.from('this is not compressed data at all, not even close'),
          );
          expectProblem(garbage, 400, 'MALFORMED_BODY', 'body');
          expect(garbage.body.detail).toContain(encoding);
          const cut = await send(encoding, good.subarray(0, Math.max(2, good.length - 6)));
          expectProblem(cut, 400, 'MALFORMED_BODY', 'body');
          // Valid compression of something that is not JSON is the JSON's fault.
          expectProblem(await send(encoding, compress(Buffer.from('{"name": '))), 400, 'MALFORMED_JSON');
          expect(await keyCount()).toBe(before);
        });
      }

      it('an unknown Content-Encoding is 415 UNSUPPORTED_MEDIA_TYPE naming it', async () => {
        const before = await keyCount();
        for (const encoding of ['zstd', 'compress', 'gzip, br']) {
          const r = await send(encoding, Buffer.from(JSON.stringify(target.body())));
          expectProblem(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
          expect(r.body.detail).toContain(`Content-Encoding ${encoding}`);
        }
        expect(await keyCount()).toBe(before);
      });

      it('the coding name is case-insensitive, and identity is no coding', async () => {
        expectStatus(await send('GZip', gzipSync(Buffer.from(JSON.stringify(target.body())))), target.ok);
        expectStatus(await send('identity', Buffer.from(JSON.stringify(target.body()))), target.ok);
      });
    });
  }

  it('a decoded body larger than the limit is 413, however small the compressed one', async () => {
    const huge = gzipSync(Buffer.from(JSON.stringify({ name: 'x'.repeat(s.config.maxBodyBytes * 4) })));
    expect(huge.length).toBeLessThan(s.config.maxBodyBytes);
    const r = await s.call('/api/v1/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-api-key': key },
      body: huge,
    });
    expectProblem(r, 413, 'PAYLOAD_TOO_LARGE');
  });
});
