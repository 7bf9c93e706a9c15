/** A stored user as the rules see it. `password_hash` is null for a user without a password. */
export interface UserRecord {
  id: string;
  username: string;
  password_hash: string | null;
  is_superuser: boolean;
  is_active: boolean;
  can_create_tokens: boolean;
  /** May call POST /api/v1/keys/verify for other services (superusers always may). */
  can_verify_keys: boolean;
  created_at: string;
  updated_at: string;
}

/** The public shape of a user: never the password hash. */
export interface UserView {
  id: string;
  username: string;
  is_superuser: boolean;
  is_active: boolean;
  can_create_tokens: boolean;
  can_verify_keys: boolean;
  created_at: string;
}

export function toUserView(user: UserRecord): UserView {
  return {
    id: user.id,
    username: user.username,
    is_superuser: user.is_superuser,
    is_active: user.is_active,
    can_create_tokens: user.can_create_tokens,
    can_verify_keys: user.can_verify_keys,
    created_at: user.created_at,
  };
}

/** The flags an administrator can change. */
export interface UserFlags {
  is_superuser?: boolean | undefined;
  is_active?: boolean | undefined;
  can_create_tokens?: boolean | undefined;
  can_verify_keys?: boolean | undefined;
}

export const USER_FLAGS = ['is_superuser', 'is_active', 'can_create_tokens', 'can_verify_keys'] as const;

/** A new user's record, from what the caller asked for and the password's stored form. */
export function newUserRecord(
  input: {
    username: string;
    isSuperuser?: boolean | undefined;
    canCreateTokens?: boolean | undefined;
    canVerifyKeys?: boolean | undefined;
  },
  made: { id: string; passwordHash: string | null; now: number },
): UserRecord {
  const at = new Date(made.now).toISOString();
  return {
    id: made.id,
    username: input.username,
    password_hash: made.passwordHash,
    is_superuser: input.isSuperuser === true,
    is_active: true,
    can_create_tokens: input.canCreateTokens !== false,
    can_verify_keys: input.canVerifyKeys === true,
    created_at: at,
    updated_at: at,
  };
}
