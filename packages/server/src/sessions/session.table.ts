import type { Insertable, Selectable } from 'kysely';

/** A login: one row shared by its JWT (claim `sid`) and its cookie (found by digest). */
export interface SessionTable {
  id: string;
  user_id: string;
  /** HMAC-SHA256 of the cookie value, hex. Unique. */
  digest: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export type SessionRow = Selectable<SessionTable>;
export type NewSessionRow = Insertable<SessionTable>;
