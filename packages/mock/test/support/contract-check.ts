// Loaded before every test file (vitest setupFiles): every response any mock produces in
// this package's tests is checked against openapi.yaml, status, body and headers. A
// response outside the contract fails the file that produced it.

import { CONTRACT, ContractValidator, listOperations } from '@latchkey/core';
import { afterAll, expect } from 'vitest';
import { observeResponses } from '../../src/http/observe.js';

const validator = new ContractValidator();
const specs = new Map(listOperations(CONTRACT).map((spec) => [spec.operationId, spec]));
const violations: string[] = [];
const pending: Promise<void>[] = [];
let checked = 0;

observeResponses(({ operationId, request, response }) => {
  pending.push(
    (async () => {
      const spec = specs.get(operationId);
      if (!spec) {
        violations.push(`${operationId}: not an operation of the contract`);
        return;
      }
      const text = await response.text();
      const contentType = response.headers.get('content-type');
      let body: unknown = text === '' ? undefined : text;
      if (text && /json/.test(contentType ?? '')) body = JSON.parse(text);
      const problems = validator.checkResponse(spec, {
        status: response.status,
        headers: response.headers,
        body,
        contentType,
      });
      checked++;
      for (const p of problems) violations.push(`${request.method} ${new URL(request.url).pathname}: ${p}`);
    })(),
  );
});

afterAll(async () => {
  await Promise.all(pending);
  expect(violations, `responses outside the contract (${checked} checked)`).toEqual([]);
});

/** How many responses were checked so far in this file. */
export async function checkedResponses(): Promise<number> {
  await Promise.all(pending);
  return checked;
}
