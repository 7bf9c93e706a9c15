// Rate-limit counters and lockouts in one process's memory, on a clock that tests can move:
// what the mock runs. The server keeps the same counts in rate-limiter-flexible (memory or
// Redis) and its lockout store.
import type { Clock, Lockout, LockoutStore, LockState, RequestCounter, WindowCount } from '../ports.js';

/** Counts requests per identity in fixed windows that start at the first request. */
export class MemoryRequestCounter implements RequestCounter {
  private readonly windows = new Map<string, { startedAt: number; windowS: number; consumed: number }>();

  constructor(private readonly clock: Clock) {}

  async consume(identity: string, _limit: number, windowS: number, cost: number): Promise<WindowCount> {
    const now = this.clock();
    let window = this.windows.get(identity);
    if (!window || now >= window.startedAt + window.windowS * 1000 || window.windowS !== windowS) {
      window = { startedAt: now, windowS, consumed: 0 };
      this.windows.set(identity, window);
    }
    window.consumed += cost;
    return { consumed: window.consumed, msBeforeReset: window.startedAt + windowS * 1000 - now };
  }
}

export interface LockoutSettings {
  attempts: number;
  windowS: number;
  durationS: number;
}

/** Locks an address out after `attempts` failed authentications within `windowS`. */
export class MemoryLockoutStore implements LockoutStore {
  private readonly entries = new Map<string, { failures: number; windowEnds: number; lockedUntil: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly settings: LockoutSettings,
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

  async state(address: string): Promise<LockState> {
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

  async fail(address: string): Promise<{ failures: number; lock: Lockout | undefined }> {
    const now = this.clock();
    const found = this.entry(address) ?? {
      failures: 0,
      windowEnds: now + this.settings.windowS * 1000,
      lockedUntil: 0,
    };
    if (found.lockedUntil > now) return { failures: found.failures, lock: undefined };
    found.failures++;
    this.entries.set(address, found);
    if (found.failures < this.settings.attempts) return { failures: found.failures, lock: undefined };
    found.lockedUntil = now + this.settings.durationS * 1000;
    return { failures: found.failures, lock: { address, lockedUntil: new Date(found.lockedUntil) } };
  }

  async succeed(address: string): Promise<void> {
    const found = this.entry(address);
    if (found && found.lockedUntil === 0) this.entries.delete(address);
  }

  async list(): Promise<Lockout[]> {
    const now = this.clock();
    const out: Lockout[] = [];
    for (const address of [...this.entries.keys()]) {
      const found = this.entry(address);
      if (found && found.lockedUntil > now) out.push({ address, lockedUntil: new Date(found.lockedUntil) });
    }
    return out.sort((a, b) => a.lockedUntil.getTime() - b.lockedUntil.getTime());
  }

  async clear(address: string): Promise<boolean> {
    const { locked } = await this.state(address);
    this.entries.delete(address);
    return locked;
  }
}
