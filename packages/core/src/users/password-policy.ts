import { ApiError } from '../api-error.js';
import { COMMON_PASSWORDS } from './common-passwords.js';

export const MAX_PASSWORD_LENGTH = 1024;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, minLength: number, username?: string): string | undefined {
  if (password.length < minLength) return `must be at least ${minLength} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'is too common';
  if (username && lower === username.toLowerCase()) return 'must not be the username';
  if (new Set(password).size < 4) return 'must use at least 4 different characters';
  return undefined;
}

const USERNAME = /^[\w.@+-]{1,150}$/;

/** Why a new username is refused, or undefined when it is well-formed. */
export function usernameProblem(username: string): string | undefined {
  return USERNAME.test(username) ? undefined : 'may hold only letters, digits and . @ + - _ (1 to 150)';
}

/** Refuses a new user's bad username or weak password (400 naming the field); null is no password. */
export function checkNewUser(username: string, password: string | null, minLength: number): void {
  const badName = usernameProblem(username);
  if (badName) throw ApiError.field('body.username', badName);
  if (password !== null) {
    const problem = passwordProblem(password, minLength, username);
    if (problem) throw ApiError.field('body.password', problem);
  }
}
