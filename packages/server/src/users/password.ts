import { hash, verify } from '@node-rs/argon2';

// argon2id is the library's default algorithm; parameters follow its defaults
// (19 MiB, 2 passes), the OWASP recommendation.

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password. With no stored hash (unknown user, or a user without a password)
 * it still spends the time of one verification, so timing does not tell which it was.
 */
export async function verifyPassword(
  storedHash: string | null | undefined,
  password: string,
): Promise<boolean> {
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
}

// The most common passwords of public breach lists, refused whatever the length rule.
const COMMON_PASSWORDS = new Set([
  '123456',
  '123456789',
  '12345678',
  '1234567890',
  '0123456789',
  '9876543210',
  '1111111111',
  '0000000000',
  '1234512345',
  '1q2w3e4r5t',
  '1qaz2wsx3edc',
  'qwertyuiop',
  'qwerty123',
  'qwerty1234',
  'qwertyuiop123',
  'asdfghjkl',
  'zxcvbnm123',
  'password',
  'password1',
  'password12',
  'password123',
  'password1234',
  'passw0rd123',
  'p@ssw0rd123',
  'administrator',
  'admin12345',
  'admin123456',
  'adminadmin',
  'changeme123',
  'letmein123',
  'welcome123',
  'welcome1234',
  'iloveyou123',
  'sunshine123',
  'football123',
  'baseball123',
  'monkey12345',
  'dragon12345',
  'superman123',
  'trustno1234',
  'abcdefghij',
  'abc1234567',
  'aaaaaaaaaa',
  'secret1234',
  'latchkey123',
  'latchkey1234',
]);

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, minLength: number, username?: string): string | undefined {
  if (password.length < minLength) return `must be at least ${minLength} characters`;
  if (password.length > 1024) return 'must be at most 1024 characters';
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'is too common';
  if (username && lower === username.toLowerCase()) return 'must not be the username';
  if (new Set(password).size < 4) return 'must use at least 4 different characters';
  return undefined;
}
