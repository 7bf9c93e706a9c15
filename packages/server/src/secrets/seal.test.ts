import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seal, unseal } from './seal.js';

describe('seal', () => {
  it('round-trips, and refuses a wrong key or an altered value', () => {
    const key = randomBytes(32);
    const sealed = seal(key, 'lk_secret');
    expect(sealed).not.toContain('lk_secret');
    expect(unseal(key, sealed)).toBe('lk_secret');
    expect(unseal(randomBytes(32), sealed)).toBeUndefined();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('lk_secreu').toString('base64url');
    expect(unseal(key, parts.join('.'))).toBeUndefined();
    expect(unseal(key, 'garbage')).toBeUndefined();
  });
});
