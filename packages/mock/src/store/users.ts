import { ApiError } from '@latchkey/core';
import { type Clock, iso } from './config.js';

/** A user as the mock keeps it. The password is kept as given: this is a test double. */
export interface UserRecord {
  id: string;
  username: string;
  password: string | null;
  is_superuser: boolean;
  is_active: boolean;
  can_create_tokens: boolean;
  created_at: string;
  updated_at: string;
}

/** The public shape of a user. */
export interface UserView {
  id: string;
  username: string;
  is_superuser: boolean;
  is_active: boolean;
  can_create_tokens: boolean;
  created_at: string;
}

export function toUserView(u: UserRecord): UserView {
  return {
    id: u.id,
    username: u.username,
    is_superuser: u.is_superuser,
    is_active: u.is_active,
    can_create_tokens: u.can_create_tokens,
    created_at: u.created_at,
  };
}

const USERNAME = /^[\w.@+-]{1,150}$/;
const COMMON_PASSWORDS = new Set([
  '123456',
  '123456789',
  '12345678',
  '1234567890',
  'qwertyuiop',
  'qwerty123',
  'password',
  'password1',
  'password123',
  'password1234',
  'administrator',
  'admin12345',
  'letmein123',
  'iloveyou12',
  'changeme123',
]);

/** Why a new password is refused, or undefined when it is acceptable (the server's rules). */
export function passwordProblem(password: string, minLength: number, username?: string): string | undefined {
  if (password.length < minLength) return `must be at least ${minLength} characters`;
  if (password.length > 1024) return 'must be at most 1024 characters';
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'is too common';
  if (username && lower === username.toLowerCase()) return 'must not be the username';
  if (new Set(password).size < 4) return 'must use at least 4 different characters';
  return undefined;
}

/** True when the change would leave no active superuser. */
export function removesLastSuperuser(
  user: UserRecord,
  change: { is_superuser?: boolean; is_active?: boolean } | 'delete',
  otherActiveSuperusers: number,
): boolean {
  const active = (u: { is_superuser: boolean; is_active: boolean }) => u.is_superuser && u.is_active;
  if (!active(user) || otherActiveSuperusers > 0) return false;
  if (change === 'delete') return true;
  return !active({
    is_superuser: change.is_superuser ?? user.is_superuser,
    is_active: change.is_active ?? user.is_active,
  });
}

/** The users of the mock. */
export class UserStore {
  readonly byId = new Map<string, UserRecord>();

  constructor(
    private readonly clock: Clock,
    private readonly passwordMinLength: number,
  ) {}

  findByUsername(username: string): UserRecord | undefined {
    for (const u of this.byId.values()) if (u.username === username) return u;
    return undefined;
  }

  /** Creates a user; refuses a bad username (400), a weak password (400) or a taken name (409). */
  create(input: {
    username: string;
    password: string | null;
    is_superuser?: boolean | undefined;
    can_create_tokens?: boolean | undefined;
  }): UserRecord {
    if (!USERNAME.test(input.username)) {
      throw ApiError.field('body.username', 'may hold only letters, digits and . @ + - _ (1 to 150)');
    }
    if (input.password !== null) {
      const problem = passwordProblem(input.password, this.passwordMinLength, input.username);
      if (problem) throw ApiError.field('body.password', problem);
    }
    if (this.findByUsername(input.username)) {
      throw ApiError.field('body.username', 'is already taken', 'USERNAME_TAKEN');
    }
    const at = iso(this.clock());
    const user: UserRecord = {
      id: globalThis.crypto.randomUUID(),
      username: input.username,
      password: input.password,
      is_superuser: input.is_superuser === true,
      is_active: true,
      can_create_tokens: input.can_create_tokens !== false,
      created_at: at,
      updated_at: at,
    };
    this.byId.set(user.id, user);
    return user;
  }

  get(id: string): UserRecord {
    const user = this.byId.get(id);
    if (!user) throw new ApiError('USER_NOT_FOUND', `No user with id ${id}.`);
    return user;
  }

  /** The active user with this username and password, or undefined. */
  authenticate(username: string, password: string): UserRecord | undefined {
    const user = this.findByUsername(username);
    return user?.is_active && user.password !== null && user.password === password ? user : undefined;
  }

  private otherActiveSuperusers(id: string): number {
    return [...this.byId.values()].filter((u) => u.id !== id && u.is_superuser && u.is_active).length;
  }

  /** Sets flags; never leaves the server without an active superuser (409 LAST_SUPERUSER). */
  updateFlags(
    id: string,
    flags: { is_superuser?: boolean; is_active?: boolean; can_create_tokens?: boolean },
  ): { before: UserRecord; after: UserRecord } {
    const user = this.get(id);
    const before = { ...user };
    const change: { is_superuser?: boolean; is_active?: boolean } = {};
    if (flags.is_superuser !== undefined) change.is_superuser = flags.is_superuser;
    if (flags.is_active !== undefined) change.is_active = flags.is_active;
    if (removesLastSuperuser(user, change, this.otherActiveSuperusers(id))) {
      throw new ApiError(
        'LAST_SUPERUSER',
        `${user.username} is the last active superuser; ${flags.is_active === false ? 'deactivating' : 'demoting'} them would leave nobody to administer the server. Make another user a superuser first.`,
      );
    }
    let changed = false;
    for (const flag of ['is_superuser', 'is_active', 'can_create_tokens'] as const) {
      const value = flags[flag];
      if (value !== undefined && user[flag] !== value) {
        user[flag] = value;
        changed = true;
      }
    }
    if (changed) user.updated_at = iso(this.clock());
    return { before, after: user };
  }

  /** Deletes a user; never the last active superuser. */
  delete(id: string): UserRecord {
    const user = this.get(id);
    if (removesLastSuperuser(user, 'delete', this.otherActiveSuperusers(id))) {
      throw new ApiError(
        'LAST_SUPERUSER',
        `${user.username} is the last active superuser; deleting them would leave nobody to administer the server. Make another user a superuser first.`,
      );
    }
    this.byId.delete(id);
    return user;
  }

  setPassword(user: UserRecord, password: string): void {
    const problem = passwordProblem(password, this.passwordMinLength, user.username);
    if (problem) throw ApiError.field('body.password', problem);
    user.password = password;
    user.updated_at = iso(this.clock());
  }

  /** Users oldest first, filtered. */
  list(filter: { is_active?: boolean | undefined; is_superuser?: boolean | undefined }): UserRecord[] {
    return [...this.byId.values()]
      .filter((u) => filter.is_active === undefined || u.is_active === filter.is_active)
      .filter((u) => filter.is_superuser === undefined || u.is_superuser === filter.is_superuser)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }
}
