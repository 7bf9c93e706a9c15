import type { Clock } from './config.js';

export interface LockoutSettings {
  attempts: number;
  windowS: number;
  durationS: number;
}

export interface LockState {
  locked: boolean;
  failures: number;
  retryAfterS: number;
}

/** Locks an address out after `attempts` failed authentications within `windowS`. */
export class LockoutGuard {
  private readonly entries = new Map<string, { failures: number; windowEnds: number; lockedUntil: number }>();

  constructor(
    private readonly clock: Clock,
    readonly settings: LockoutSettings,
  ) {}

  private entry(address: string) {
    const now = this.clock();
    const found = this.entries.get(address);
    if (!found) return undefined;
    if (found.lockedUntil > now) return found;
    if (found.lockedUntil !== 0 || found.windowEnds <= now) {
      this.entries.delete(address);
      return undefined;
    }
    return found;
  }

  state(address: string): LockState {
    const found = this.entry(address);
    if (!found) return { locked: false, failures: 0, retryAfterS: 0 };
    const now = this.clock();
    const locked = found.lockedUntil > now;
    return {
      locked,
      failures: found.failures,
      retryAfterS: locked ? Math.max(1, Math.ceil((found.lockedUntil - now) / 1000)) : 0,
    };
  }

  /** Counts a failure; returns when the lock ends if this failure started one. */
  fail(address: string): { lockedUntil: number } | undefined {
    const now = this.clock();
    const found = this.entry(address) ?? {
      failures: 0,
      windowEnds: now + this.settings.windowS * 1000,
      lockedUntil: 0,
    };
    if (found.lockedUntil > now) return undefined;
    found.failures++;
    this.entries.set(address, found);
    if (found.failures < this.settings.attempts) return undefined;
    found.lockedUntil = now + this.settings.durationS * 1000;
    return { lockedUntil: found.lockedUntil };
  }

  /** A success before the lock forgets the failures. */
  succeed(address: string): void {
    const found = this.entry(address);
    if (found && found.lockedUntil === 0) this.entries.delete(address);
  }

  /** Current lockouts, soonest to end first. */
  list(): { address: string; lockedUntil: number }[] {
    const now = this.clock();
    return [...this.entries.keys()]
      .map((address) => ({ address, entry: this.entry(address) }))
      .filter((e) => e.entry && e.entry.lockedUntil > now)
      .map((e) => ({ address: e.address, lockedUntil: e.entry?.lockedUntil ?? 0 }))
      .sort((a, b) => a.lockedUntil - b.lockedUntil);
  }

  /** Lifts a lock and forgets the failures; false when the address was not locked. */
  clear(address: string): boolean {
    const locked = this.state(address).locked;
    this.entries.delete(address);
    return locked;
  }
}
