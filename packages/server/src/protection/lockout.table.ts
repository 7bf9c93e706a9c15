import type { Selectable } from 'kysely';

/**
 * Failed authentications of one client address, and its lock. Kept in the database when
 * no Redis is configured, so that every process on it (the server, other instances, the
 * `latchkey lockouts` command) sees the same locks. Times are ISO 8601 strings.
 */
export interface AuthLockoutTable {
  /** The client address, as the server resolved it. */
  address: string;
  /** Failures counted in the current window. */
  failures: number;
  /** When the current window of counting ends; the next failure after it counts from 1. */
  window_ends_at: string;
  /** Until when the address is refused; null when it is not locked. */
  locked_until: string | null;
}

export type AuthLockoutRow = Selectable<AuthLockoutTable>;
