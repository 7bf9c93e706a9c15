import { describe, expect, it } from 'vitest';
import { ApiError } from '../api-error.js';
import {
  grants,
  missingPermissions,
  normalisePermissions,
  permissionProblem,
  permissionsForNewKey,
} from './permissions.js';

describe('permission grammar', () => {
  it('takes lowercase segments joined by . and :, with * for a whole segment', () => {
    for (const good of ['keys:read', 'archive.snapshots:write', 'archive.*:read', '*', 'a_b-c.d:e', '*:*']) {
      expect(permissionProblem(good), good).toBeUndefined();
    }
    for (const bad of [
      '',
      'Keys:read',
      'keys read',
      'keys::read',
      'keys:',
      '.keys',
      'arch*:read',
      'x'.repeat(65),
      'keys/read',
    ]) {
      expect(permissionProblem(bad), bad).toBeDefined();
    }
  });

  it('names the bad entry and the list that is too long', () => {
    expect(normalisePermissions('body.permissions', ['a:b', 'a:b', 'c'])).toEqual(['a:b', 'c']);
    expect(() => normalisePermissions('body.permissions', ['ok', 'Bad'])).toThrow(/body.permissions\[1\]/);
    expect(() =>
      normalisePermissions(
        'body.permissions',
        Array.from({ length: 51 }, (_, i) => `p${i}`),
      ),
    ).toThrow(/at most 50/);
  });
});

describe('granting', () => {
  it('matches equal strings, and * against any one segment of the same structure', () => {
    expect(grants('keys:read', 'keys:read')).toBe(true);
    expect(grants('keys:*', 'keys:write')).toBe(true);
    expect(grants('archive.*:read', 'archive.snapshots:read')).toBe(true);
    expect(grants('archive.*:read', 'archive.snapshots:write')).toBe(false);
    expect(grants('archive.*:read', 'archive:read')).toBe(false);
    expect(grants('*', 'keys:read')).toBe(false);
    expect(grants('keys:read', 'keys:*')).toBe(false);
  });

  it('finds what is missing; null holds everything and an empty list nothing', () => {
    expect(missingPermissions(null, ['admin:write'])).toEqual([]);
    expect(missingPermissions([], ['keys:read'])).toEqual(['keys:read']);
    expect(missingPermissions(['keys:*'], ['keys:read', 'admin:read'])).toEqual(['admin:read']);
  });

  it('never gives a new key more than the credential that creates it', () => {
    expect(permissionsForNewKey(null, undefined)).toBeNull();
    expect(permissionsForNewKey(null, ['anything:at-all'])).toEqual(['anything:at-all']);
    expect(permissionsForNewKey(['keys:*', 'archive.*:read'], undefined)).toEqual([
      'keys:*',
      'archive.*:read',
    ]);
    expect(permissionsForNewKey(['keys:*'], ['keys:read'])).toEqual(['keys:read']);
    expect(permissionsForNewKey(['keys:read'], [])).toEqual([]);
    try {
      permissionsForNewKey(['keys:read'], ['keys:read', 'admin:write']);
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('INSUFFICIENT_PERMISSIONS');
      expect((err as ApiError).detail).toMatch(/lacks admin:write/);
    }
  });
});
