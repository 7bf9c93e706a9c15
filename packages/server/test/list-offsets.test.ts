import { CONTRACT } from '@latchkey/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectProblem, expectStatus } from './support/expect.js';
import { describeEachDialect, startTestServer, type TestServer } from './support/test-server.js';

// Every list operation of the contract, found by its `offset` parameter, so that a new list
// endpoint is covered without touching this file: an offset beyond the contract's maximum
// (however it is written) is 400 naming query.offset, never a database error; the largest
// allowed offset is an empty page.

interface Parameter {
  $ref?: string;
  name?: string;
  in?: string;
  schema?: { maximum?: number };
}

const document = CONTRACT as unknown as {
  paths: Record<string, Record<string, { operationId?: string; parameters?: Parameter[] } & Parameter[]>>;
  components: { parameters: Record<string, Parameter> };
};
const resolve = (p: Parameter): Parameter =>
  p.$ref ? (document.components.parameters[p.$ref.split('/').at(-1) as string] as Parameter) : p;

const LIST_OPERATIONS = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(
      ([method, op]) =>
        method === 'get' && (op.parameters ?? []).map(resolve).some((p) => p.name === 'offset'),
    )
    .map(([, op]) => ({
      path,
      operationId: op.operationId as string,
      parameters: [
        ...((item.parameters as unknown as Parameter[] | undefined) ?? []),
        ...(op.parameters ?? []),
      ].map(resolve),
    })),
);

/** The path parameters a list operation may have, and where the suite gets a value for each. */
const PATH_VALUES = ['webhook_id'];

const MAX_OFFSET = resolve({ $ref: '#/components/parameters/Offset' }).schema?.maximum;

it('the contract bounds offset, and has list operations to test', () => {
  expect(MAX_OFFSET).toBe(2_147_483_647);
  expect(LIST_OPERATIONS.map((o) => o.operationId)).toEqual(
    expect.arrayContaining(['listKeys', 'adminListKeys', 'adminListUsers', 'adminListAuditEvents']),
  );
  for (const op of LIST_OPERATIONS) {
    const offset = op.parameters.find((p) => p.name === 'offset');
    expect(offset?.schema?.maximum, op.operationId).toBe(MAX_OFFSET);
    // A list operation with a path parameter needs a value for it here.
    for (const p of op.parameters.filter((x) => x.in === 'path')) {
      expect(PATH_VALUES, `${op.operationId}: ${p.name}`).toContain(p.name);
    }
  }
});

describeEachDialect('offsets on every list operation', (dialect) => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer(dialect);
    const root = await s.createUser('root', { superuser: true });
    key = (await s.createKey(root)).key;
    // Something to list everywhere: a webhook and its test delivery, a key, users, audit events.
    const webhook = await s.call('/api/v1/webhooks', {
      method: 'POST',
      headers: { 'x-api-key': key },
      json: { name: 'listed', url: 'https://hooks.example.invalid/' },
    });
    webhookId = webhook.body.id;
    await s.call(`/api/v1/webhooks/${webhookId}/test`, { method: 'POST', headers: { 'x-api-key': key } });
    await s.call('/api/v1/keys', { method: 'POST', headers: { 'x-api-key': key }, json: { name: 'listed' } });
  });
  afterAll(() => s.close());
  let webhookId: string;

  const get = (path: string, offset: string) =>
    s.call(`${path.replace('{webhook_id}', webhookId)}?offset=${encodeURIComponent(offset)}`, {
      headers: { 'x-api-key': key },
    });

  for (const op of LIST_OPERATIONS) {
    it(`${op.operationId}: offsets beyond the maximum are 400 naming query.offset`, async () => {
      for (const offset of ['1e20', '9223372036854775807', '1e400', String(2 ** 31), '-1', '1.5', 'NaN']) {
        const r = await get(op.path, offset);
        expectProblem(r, 400, 'VALIDATION_FAILED', 'query.offset');
      }
    });

    it(`${op.operationId}: the largest allowed offset is an empty page`, async () => {
      const first = await get(op.path, '0');
      expectStatus(first, 200);
      expect(first.body.count).toBeGreaterThan(0);
      const far = await get(op.path, String(MAX_OFFSET));
      expectStatus(far, 200);
      expect(far.body).toMatchObject({ count: first.body.count, results: [] });
    });
  }
});
