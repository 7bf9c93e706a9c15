import type { Lockout, LockoutStore, LockState } from '@latchkey/core';

export type { Lockout, LockState } from '@latchkey/core';

export interface LockoutSettings {
  attempts: number;
  windowS: number;
  durationS: number;
}

/** What one counted failure did: the failures of the window (this one included) and the lock it started. */
export type FailureCount = Awaited<ReturnType<LockoutStore['fail']>>;

/**
 * Where failures and locks are kept: the database, or Redis when configured. Each backend
 * applies the counting rule atomically, whatever the number of processes:
 * - a failure after the window ended (or the first one) counts 1 and opens a window of
 *   `windowS`; any other adds 1;
 * - the failure that reaches `attempts` locks the address for `durationS`, and the count
 *   starts again from nothing once the lock ends;
 * - failures of a locked address are not counted (it is refused before it authenticates);
 * - a success before the lock forgets the failures.
 */
export interface LockoutBackend {
  /** The lock on an address, for every guarded request: answered without a round trip where possible. */
  state(address: string, now: number): LockState | Promise<LockState>;
  fail(address: string, now: number): Promise<FailureCount>;
  succeed(address: string, now: number): Promise<void>;
  list(now: number): Promise<Lockout[]>;
  /** Lifts a lock and forgets the failures; false when the address was not locked. */
  clear(address: string, now: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Whether a lock that lasts until `lockedUntil` (epoch ms) refuses a request now, and for how long. */
export function lockDecision(
  lockedUntil: number | undefined,
  now: number,
): { locked: boolean; retryAfterS: number } {
  if (lockedUntil === undefined || lockedUntil <= now) return { locked: false, retryAfterS: 0 };
  return { locked: true, retryAfterS: Math.max(1, Math.ceil((lockedUntil - now) / 1000)) };
}

/**
 * Locks a client address out after too many failed authentications in a window, through
 * a backend that every process on the same database (or Redis) shares. The core's lockout
 * decisions run on it (the core's LockoutStore port).
 */
export class LockoutGuard implements LockoutStore {
  constructor(
    private readonly store: LockoutBackend,
    readonly settings: LockoutSettings,
  ) {}

  async state(address: string, now: number = Date.now()): Promise<LockState> {
    return this.store.state(address, now);
  }

  /** Counts a failure; says how many the window holds and the lock it may have started. */
  fail(address: string, now: number = Date.now()): Promise<FailureCount> {
    return this.store.fail(address, now);
  }

  succeed(address: string, now: number = Date.now()): Promise<void> {
    return this.store.succeed(address, now);
  }

  list(now: number = Date.now()): Promise<Lockout[]> {
    return this.store.list(now);
  }

  clear(address: string, now: number = Date.now()): Promise<boolean> {
    return this.store.clear(address, now);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
