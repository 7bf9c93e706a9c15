import type { UserRow } from './user.table.js';

export interface UserView {
  id: string;
  username: string;
  is_superuser: boolean;
  is_active: boolean;
  can_create_tokens: boolean;
  created_at: string;
}

/** The public shape of a user: never the password hash. */
export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    is_superuser: Boolean(row.is_superuser),
    is_active: Boolean(row.is_active),
    can_create_tokens: Boolean(row.can_create_tokens),
    created_at: row.created_at,
  };
}
