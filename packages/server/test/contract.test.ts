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

  it('declares 400 and 500 on every operation, and 503 on every one that uses the database', () => {
    const doc = readContract() as {
      paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, unknown> }>>;
    };
    // Operations that read nothing from the database; /health answers its own 503 with a Health body.
    const noStorage = new Set(['getRoot', 'getMeta', 'getMetrics', 'getOpenApiJson', 'getOpenApiYaml']);
    for (const id of ['getDocs', 'getRedoc', 'getErrorPage', 'getHealth']) noStorage.add(id);
    const missing: string[] = [];
    for (const item of Object.values(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op?.operationId) continue;
        const statuses = Object.keys(op.responses ?? {});
        for (const status of ['400', '500', ...(noStorage.has(op.operationId) ? [] : ['503'])]) {
          if (!statuses.includes(status)) missing.push(`${op.operationId} ${status}`);
        }
      }
    }
    expect(missing).toEqual([]);
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
