import type { PasswordHasher } from '@latchkey/core';
import { hash, verify } from '@node-rs/argon2';

// argon2id is the library's default algorithm; parameters follow its defaults
// (19 MiB, 2 passes), the OWASP recommendation.

let dummyHash: Promise<string> | undefined;

/**
 * Passwords hashed with argon2id. With no stored hash (unknown user, or a user without a
 * password) a check still spends the time of one verification, so timing does not tell
 * which it was.
 */
export const ARGON2_PASSWORDS: PasswordHasher = {
  hash: (password) => hash(password),
  async verify(storedHash, password) {
    if (!storedHash) {
      dummyHash ??= hash('latchkey-dummy-password');
      await verify(await dummyHash, password).catch(() => false);
      return false;
    }
    try {
      return await verify(storedHash, password);
    } catch {
      return false;
    }
  },
};
