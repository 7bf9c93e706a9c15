// Permissions on keys: strings such as `keys:read` or `archive.snapshots:write`. A segment
// (the parts between `.` and `:`) of `*` stands for any one segment. `null` on a key means
// "everything its owner may do"; an empty list means nothing. Pure: nothing here reads a store.
import { ApiError } from '../api-error.js';

export const MAX_PERMISSION_LENGTH = 64;
export const MAX_PERMISSIONS = 50;

const CHARACTERS = /^[a-z0-9._:*-]+$/;
const SEGMENT = /^(\*|[a-z0-9_-]+)$/;

/** Why a permission string is malformed, or undefined when it is well-formed. */
export function permissionProblem(permission: string): string | undefined {
  if (permission.length === 0 || permission.length > MAX_PERMISSION_LENGTH) {
    return `must be 1 to ${MAX_PERMISSION_LENGTH} characters`;
  }
  if (!CHARACTERS.test(permission))
    return 'may hold only lowercase letters, digits and . _ - : (and * for a segment)';
  if (!permission.split(/[.:]/).every((segment) => SEGMENT.test(segment))) {
    return 'has an empty segment, or a * that is not a whole segment';
  }
  return undefined;
}

/** A list of permissions a caller sent, checked and without repeats; the first bad one is named. */
export function normalisePermissions(field: string, permissions: readonly string[]): string[] {
  if (permissions.length > MAX_PERMISSIONS)
    throw ApiError.field(field, `may hold at most ${MAX_PERMISSIONS} permissions`);
  const out: string[] = [];
  permissions.forEach((permission, i) => {
    const problem = permissionProblem(permission);
    if (problem) throw ApiError.field(`${field}[${i}]`, `"${permission}" ${problem}`);
    if (!out.includes(permission)) out.push(permission);
  });
  return out;
}

/** The separators of a permission, in order: two permissions match only with the same ones. */
const separators = (permission: string) => permission.replace(/[^.:]/g, '');

/** True when `held` grants `required`: the same structure, each held segment `*` or equal. */
export function grants(held: string, required: string): boolean {
  if (held === required) return true;
  if (!held.includes('*') || separators(held) !== separators(required)) return false;
  const mine = held.split(/[.:]/);
  const wanted = required.split(/[.:]/);
  return mine.every((segment, i) => segment === '*' || segment === wanted[i]);
}

/**
 * The permissions in `required` that `held` does not grant. `held` null is a key without
 * restrictions: it holds everything its owner may do, so nothing is missing.
 */
export function missingPermissions(held: readonly string[] | null, required: readonly string[]): string[] {
  if (held === null) return [];
  return required.filter((r) => !held.some((h) => grants(h, r)));
}

/**
 * The permissions a new key gets when a credential holding `held` asks for `requested`:
 * never more than the credential holds. A credential without restrictions passes on what was
 * asked; a restricted one passes on its own permissions when none were asked for, and refuses
 * anything it does not hold (403 INSUFFICIENT_PERMISSIONS naming it).
 */
export function permissionsForNewKey(
  held: readonly string[] | null,
  requested: readonly string[] | null | undefined,
): string[] | null {
  if (requested === undefined || requested === null) return held === null ? null : [...held];
  const missing = missingPermissions(held, requested);
  if (missing.length) {
    throw new ApiError(
      'INSUFFICIENT_PERMISSIONS',
      `This credential cannot give a key more than it holds itself: it lacks ${missing.join(', ')}.`,
    );
  }
  return [...requested];
}
