import { describe, expect, it } from 'vitest';
import { HANDLERS } from '../src/handlers/index.js';
import { readContract } from '../src/http/contract.js';
import { fieldErrors } from '../src/http/router.js';

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'] as const;

function operationIds(): string[] {
  const doc = readContract() as { paths: Record<string, Record<string, { operationId?: string }>> };
  const ids: string[] = [];
  for (const item of Object.values(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) ids.push(op.operationId ?? `(missing operationId: ${method})`);
    }
  }
  return ids;
}

describe('contract and handlers', () => {
  it('has a handler for every operationId in openapi.yaml', () => {
    const missing = operationIds().filter((id) => !(id in HANDLERS));
    expect(missing).toEqual([]);
  });

  it('has no handler outside the contract', () => {
    const ids = new Set(operationIds());
    expect(Object.keys(HANDLERS).filter((id) => !ids.has(id))).toEqual([]);
  });

  it('names the field at fault in validation errors', () => {
    expect(
      fieldErrors([
        {
          instancePath: '/requestBody/name',
          keyword: 'minLength',
          message: 'must NOT have fewer than 1 characters',
        },
        { instancePath: '/requestBody', keyword: 'required', params: { missingProperty: 'name' } },
        {
          instancePath: '/requestBody',
          keyword: 'additionalProperties',
          params: { additionalProperty: 'admin' },
        },
        { instancePath: '/requestBody/allowed_ips/2', keyword: 'maxLength', message: 'too long' },
        { instancePath: '/query/limit', keyword: 'maximum', message: 'must be <= 200' },
        { instancePath: '', keyword: 'required', params: { missingProperty: 'requestBody' } },
      ]),
    ).toEqual([
      { field: 'body.name', message: 'must NOT have fewer than 1 characters' },
      { field: 'body.name', message: 'is required' },
      { field: 'body.admin', message: 'is not an accepted field' },
      { field: 'body.allowed_ips[2]', message: 'too long' },
      { field: 'query.limit', message: 'must be <= 200' },
      { field: 'body', message: 'is required' },
    ]);
  });
});
