import { describe, expect, it } from 'vitest';
import { ApiError } from '../api-error.js';
import { inspectBody } from './body.js';

function refusal(value: unknown): ApiError {
  try {
    inspectBody(value);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('inspectBody', () => {
  it('accepts ordinary bodies', () => {
    expect(() =>
      inspectBody({ name: 'ci', allowed_ips: ['10.0.0.0/8'], rate_limit: { limit: 5 } }),
    ).not.toThrow();
    expect(() => inspectBody(undefined)).not.toThrow();
  });

  it('refuses 5,000 levels of nesting with a 400 naming the depth, without a stack overflow', () => {
    const deep = JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`);
    const err = refusal(deep);
    expect(err.status).toBe(400);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.detail).toMatch(/nests deeper than 32 levels/);
    expect(refusal({ a: { b: JSON.parse(`${'{"c":'.repeat(100)}1${'}'.repeat(100)}`) } }).status).toBe(400);
  });

  it('names the string or key that holds a NUL', () => {
    expect(refusal({ name: 'a\u0000b' }).errors?.[0]?.field).toBe('body.name');
    expect(refusal({ list: ['ok', 'n\u0000'] }).errors?.[0]?.field).toBe('body.list[1]');
    expect(refusal({ 'k\u0000': 1 }).errors?.[0]?.field).toBe('body.k\u0000');
    expect(refusal('\u0000').errors?.[0]?.field).toBe('body');
  });
});
