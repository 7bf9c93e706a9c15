import { describe, expect, it } from 'vitest';
import { ARGON2_PASSWORDS } from './password.js';

describe('argon2id passwords', () => {
  it('hashes with argon2id and verifies', async () => {
    const hash = await ARGON2_PASSWORDS.hash('a-long-test-password-42');
    expect(hash.startsWith('$argon2id$')).toBe(true);
    expect(await ARGON2_PASSWORDS.verify(hash, 'a-long-test-password-42')).toBe(true);
    expect(await ARGON2_PASSWORDS.verify(hash, 'a-long-test-password-43')).toBe(false);
    expect(await ARGON2_PASSWORDS.verify(null, 'anything')).toBe(false);
    expect(await ARGON2_PASSWORDS.verify('not a hash', 'anything')).toBe(false);
  });
});
