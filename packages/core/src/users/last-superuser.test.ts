import { describe, expect, it } from 'vitest';
import { removesLastSuperuser } from './last-superuser.js';

const admin = { is_superuser: true, is_active: true };

describe('removesLastSuperuser', () => {
  it('refuses to demote, deactivate or delete the only active superuser', () => {
    expect(removesLastSuperuser(admin, { is_superuser: false }, 0)).toBe(true);
    expect(removesLastSuperuser(admin, { is_active: false }, 0)).toBe(true);
    expect(removesLastSuperuser(admin, { is_superuser: false, is_active: false }, 0)).toBe(true);
    expect(removesLastSuperuser(admin, 'delete', 0)).toBe(true);
  });

  it('allows it when another active superuser remains', () => {
    expect(removesLastSuperuser(admin, { is_superuser: false }, 1)).toBe(false);
    expect(removesLastSuperuser(admin, { is_active: false }, 2)).toBe(false);
    expect(removesLastSuperuser(admin, 'delete', 1)).toBe(false);
  });

  it('allows changes that keep the user an active superuser', () => {
    expect(removesLastSuperuser(admin, {}, 0)).toBe(false);
    expect(removesLastSuperuser(admin, { is_superuser: true, is_active: true }, 0)).toBe(false);
  });

  it('does not concern users who are not active superusers', () => {
    expect(removesLastSuperuser({ is_superuser: false, is_active: true }, 'delete', 0)).toBe(false);
    expect(removesLastSuperuser({ is_superuser: true, is_active: false }, 'delete', 0)).toBe(false);
    expect(removesLastSuperuser({ is_superuser: true, is_active: false }, { is_superuser: false }, 0)).toBe(
      false,
    );
  });
});
