import { describe, expect, it } from 'vitest';
import { CORS_REQUEST_HEADERS, checkCorsOrigin, corsPolicy } from './cors-policy.js';

describe('corsPolicy', () => {
  it('allows exactly the listed origins', () => {
    const policy = corsPolicy(['https://app.example', 'http://localhost:5173'], ['X-API-Key']);
    expect(policy.allows('https://app.example')).toBe(true);
    expect(policy.allows('http://localhost:5173')).toBe(true);
    for (const origin of [
      'https://app.example:443',
      'http://app.example',
      'https://evil.app.example',
      'null',
      undefined,
    ]) {
      expect(policy.allows(origin)).toBe(false);
    }
    expect(corsPolicy([], ['X-API-Key']).allows('https://app.example')).toBe(false);
  });

  it('allows every configured API key header once, whatever its case', () => {
    const policy = corsPolicy([], ['x-api-key', 'X-ArchiveBox-API-Key', 'X-Proxbox-API-Key']);
    expect(policy.allowHeaders).toEqual([
      ...CORS_REQUEST_HEADERS,
      'X-ArchiveBox-API-Key',
      'X-Proxbox-API-Key',
    ]);
  });

  it('refuses a configured origin that is not one', () => {
    expect(() => corsPolicy(['https://app.example/'], [])).toThrow('write https://app.example');
    expect(() => checkCorsOrigin('*')).toThrow(/credentials/);
    expect(checkCorsOrigin('http://[::1]:8080')).toBe('http://[::1]:8080');
  });
});
