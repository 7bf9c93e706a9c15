import { describe, expect, it } from 'vitest';
import { ApiError } from '../api-error.js';
import { COMMON_PASSWORDS } from './common-passwords.js';
import { checkNewUser, passwordProblem, usernameProblem } from './password-policy.js';

describe('password policy', () => {
  it('refuses short, long, common and trivial passwords, and the username', () => {
    expect(passwordProblem('short', 10)).toMatch(/at least 10/);
    expect(passwordProblem('x'.repeat(1025), 10)).toMatch(/at most 1024/);
    expect(passwordProblem('password123', 10)).toBe('is too common');
    expect(passwordProblem('Football123', 10)).toBe('is too common');
    expect(passwordProblem('aaaabbbbaaaa', 10)).toMatch(/different characters/);
    expect(passwordProblem('alice-wonder', 10, 'Alice-Wonder')).toMatch(/username/);
    expect(passwordProblem('correct horse battery staple', 10)).toBeUndefined();
  });

  it('refuses every entry of the common list that the length rule lets through', () => {
    expect(COMMON_PASSWORDS.size).toBeGreaterThanOrEqual(47);
    for (const common of COMMON_PASSWORDS) {
      if (common.length >= 10) expect(passwordProblem(common, 10), common).toBe('is too common');
    }
  });

  it('names the field at fault for a new user', () => {
    expect(usernameProblem('bad name')).toMatch(/letters, digits/);
    for (const [username, password, field] of [
      ['bad name', 'correct horse battery staple', 'body.username'],
      ['alice', 'football123', 'body.password'],
    ] as const) {
      try {
        checkNewUser(username, password, 10);
        throw new Error('expected a refusal');
      } catch (err) {
        expect(err).toBeInstanceOf(ApiError);
        expect((err as ApiError).errors?.[0]?.field).toBe(field);
      }
    }
    expect(() => checkNewUser('admin', null, 10)).not.toThrow();
  });
});
