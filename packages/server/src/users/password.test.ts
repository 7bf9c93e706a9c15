import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from './password.js';

describe('passwords', () => {
  it('hashes with argon2id and verifies', async () => {
    const hash = await hashPassword('a-long-test-password-42');
    expect(hash.startsWith('$argon2id$')).toBe(true);
    expect(await verifyPassword(hash, 'a-long-test-password-42')).toBe(true);
    expect(await verifyPassword(hash, 'a-long-test-password-43')).toBe(false);
    expect(await verifyPassword(null, 'anything')).toBe(false);
    expect(await verifyPassword('not a hash', 'anything')).toBe(false);
  });

  it('refuses short, common and trivial passwords', () => {
    expect(passwordProblem('short', 10)).toMatch(/at least 10/);
    expect(passwordProblem('password123', 10)).toBe('is too common');
    expect(passwordProblem('aaaaaaaaaaaa', 10)).toMatch(/too common|different characters/);
    expect(passwordProblem('aaaabbbbaaaa', 10)).toMatch(/different characters/);
    expect(passwordProblem('alice-wonder', 10, 'Alice-Wonder')).toMatch(/username/);
    expect(passwordProblem('correct horse battery staple', 10)).toBeUndefined();
  });
});
