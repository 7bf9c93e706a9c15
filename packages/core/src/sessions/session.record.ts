import type { UserRecord } from '../users/user.record.js';

/** A login: one record shared by its JWT (claim `sid`) and its cookie (found by digest). */
export interface SessionRecord {
  id: string;
  user_id: string;
  /** Keyed digest of the cookie value. Unique. */
  digest: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

/** A live session with its owner. */
export interface FoundSession {
  session: SessionRecord;
  user: UserRecord;
}
