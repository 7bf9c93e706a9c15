import { expect } from 'vitest';
import type { TestServer } from './test-server.js';

export type Reply = Awaited<ReturnType<TestServer['call']>>;

/** The fields named by a validation problem. */
export const fields = (r: Reply): string[] => (r.body?.errors ?? []).map((e: { field: string }) => e.field);

export function expectStatus(r: Reply, status: number): void {
  expect(r.status, `answered ${r.status}: ${JSON.stringify(r.body)}`).toBe(status);
}

/** A problem+json answer: status, media type, code, its docs link, a detail, and optionally the field at fault. */
export function expectProblem(r: Reply, status: number, code: string, field?: string): void {
  expectStatus(r, status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ status, code, type: `/docs/errors/${code}` });
  expect(r.body.detail).toEqual(expect.any(String));
  if (field !== undefined) expect(fields(r), JSON.stringify(r.body)).toContain(field);
}
