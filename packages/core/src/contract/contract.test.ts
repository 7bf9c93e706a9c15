import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { CONTRACT } from '../generated/contract.gen.js';
import { ContractRouter } from './operations.js';
import { fieldErrors } from './validation.js';

describe('the contract', () => {
  it('is the same as openapi.yaml (run `pnpm --filter @latchkey/core gen` after changing it)', () => {
    const current = YAML.parse(readFileSync(new URL('../../../../openapi.yaml', import.meta.url), 'utf8'));
    expect(CONTRACT).toEqual(current);
  });

  it('routes by method and path: 404 for an unknown path, 405 for a known path and another method', () => {
    const router = new ContractRouter(CONTRACT);
    const whoami = router.match('GET', '/api/v1/auth/whoami');
    expect(whoami.found && whoami.spec.operationId).toBe('whoami');
    const head = router.match('HEAD', '/api/v1/keys/5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61');
    expect(head.found && head.params).toEqual({ key_id: '5d0f3b1e-8f6a-4a51-b0f2-9a3c2e7d4b61' });
    expect(router.match('PUT', '/api/v1/auth/whoami')).toEqual({
      found: false,
      pathExists: true,
      allowed: ['GET', 'HEAD'],
    });
    expect(router.match('GET', '/nowhere')).toEqual({ found: false, pathExists: false, allowed: [] });
    expect(router.match('GET', '/api/v1/keys/%E0%A4%A')).toEqual({
      found: false,
      pathExists: false,
      allowed: [],
    });
  });

  it('names the field at fault in validation errors', () => {
    expect(
      fieldErrors(
        [
          {
            instancePath: '/name',
            keyword: 'minLength',
            message: 'must NOT have fewer than 1 characters',
            params: {},
            schemaPath: '',
          },
          { instancePath: '', keyword: 'required', params: { missingProperty: 'name' }, schemaPath: '' },
          {
            instancePath: '',
            keyword: 'additionalProperties',
            params: { additionalProperty: 'admin' },
            schemaPath: '',
          },
          {
            instancePath: '/allowed_ips/2',
            keyword: 'maxLength',
            message: 'too long',
            params: {},
            schemaPath: '',
          },
        ],
        'body',
      ),
    ).toEqual([
      { field: 'body.name', message: 'must NOT have fewer than 1 characters' },
      { field: 'body.name', message: 'is required' },
      { field: 'body.admin', message: 'is not an accepted field' },
      { field: 'body.allowed_ips[2]', message: 'too long' },
    ]);
  });
});
