import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Booleans are stored as 0/1 integers so that SQLite and Postgres rows look alike. */
export interface UserTable {
  id: string;
  username: string;
  password_hash: string | null;
  is_superuser: number;
  is_active: number;
  can_create_tokens: number;
  /** Defaults to 0 in the database. */
  can_verify_keys: Generated<number>;
  created_at: string;
  updated_at: string;
}

export type UserRow = Selectable<UserTable>;
export type NewUserRow = Insertable<UserTable>;
export type UserRowUpdate = Updateable<UserTable>;
