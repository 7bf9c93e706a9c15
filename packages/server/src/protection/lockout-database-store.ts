import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { isoNow } from '../db/database.js';
import type { Database } from '../db/database.types.js';
import {
  type FailureCount,
  type Lockout,
  type LockoutBackend,
  type LockoutSettings,
  type LockState,
  lockDecision,
} from './lockout.js';

/** How often the current locks are read back from the table. */
export const LOCKS_REFRESH_MS = 500;
/** How often rows whose window and lock are both over are deleted. */
const PRUNE_EVERY_MS = 60_000;
/** Addresses whose failure count this process remembers (for a success to forget them). */
const MAX_REMEMBERED_FAILURES = 100_000;

const iso = (ms: number) => isoNow(new Date(ms));

/**
 * Lockouts in the `auth_lockouts` table, for a server without Redis. A failure is one
 * upsert that applies the counting rule (see LockoutBackend) in the database and returns
 * the new count, so that several processes on one database count together. Failures that
 * race past the check while the lock is being set are counted too (the lock does not
 * grow), so that each failure gets a count of its own and one alone starts the lock.
 *
 * The check on every guarded request reads no database: it looks at a map of the current
 * locks, which this process updates at once with its own changes and replaces every
 * LOCKS_REFRESH_MS with what the table holds, so that a lock set by another instance, or
 * one cleared by `latchkey lockouts clear`, is seen within a second.
 */
export class DatabaseLockoutStore implements LockoutBackend {
  /** Locked addresses and until when (epoch ms), as last read or set here. */
  private locks = new Map<string, number>();
  /** Failures this process counted or learnt from its upserts, with the end of their window. */
  private readonly failures = new Map<string, { count: number; windowEndsAt: number }>();
  /** Changes made here, numbered, so that a refresh that was under way does not undo them. */
  private changeNumber = 0;
  private readonly recent = new Map<string, { number: number; lockedUntil: number | undefined }>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private prunedAt = Date.now();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly settings: LockoutSettings,
    private readonly logger: Logger,
  ) {}

  /** Starts reading the table's locks every LOCKS_REFRESH_MS; the first read is awaited. */
  async watch(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      if (this.refreshing) return;
      this.refreshing = this.refresh()
        .catch((err) => this.logger.warn({ err: (err as Error).message }, 'could not read the lockouts'))
        .finally(() => {
          this.refreshing = undefined;
        });
    }, LOCKS_REFRESH_MS);
    this.timer.unref();
  }

  private note(address: string, lockedUntil: number | undefined): void {
    this.recent.set(address, { number: ++this.changeNumber, lockedUntil });
    if (lockedUntil === undefined) this.locks.delete(address);
    else this.locks.set(address, lockedUntil);
  }

  /** Replaces the map of locks with the table's, keeping the changes made here meanwhile. */
  async refresh(now: number = Date.now()): Promise<void> {
    const since = this.changeNumber;
    const rows = await this.currentLocks(now);
    const next = new Map(rows.map((r) => [r.address, Date.parse(r.locked_until as string)]));
    for (const [address, change] of this.recent) {
      if (change.number <= since) {
        this.recent.delete(address);
      } else if (change.lockedUntil === undefined) {
        next.delete(address);
      } else {
        next.set(address, change.lockedUntil);
      }
    }
    // A lock that disappeared before its end was cleared elsewhere: its failures went with it.
    for (const [address, until] of this.locks) {
      if (until > now && !next.has(address)) this.failures.delete(address);
    }
    this.locks = next;
    for (const [address, f] of this.failures) if (f.windowEndsAt <= now) this.failures.delete(address);
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      await this.db
        .deleteFrom('auth_lockouts')
        .where('window_ends_at', '<=', iso(now))
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', iso(now))]))
        .execute();
    }
  }

  private currentLocks(now: number) {
    return this.db
      .selectFrom('auth_lockouts')
      .select(['address', 'locked_until'])
      .where('locked_until', '>', iso(now))
      .orderBy('locked_until')
      .execute();
  }

  state(address: string, now: number): LockState {
    const { locked, retryAfterS } = lockDecision(this.locks.get(address), now);
    if (locked) return { locked, failures: this.settings.attempts, retryAfterS };
    const known = this.failures.get(address);
    return { locked, failures: known && known.windowEndsAt > now ? known.count : 0, retryAfterS };
  }

  async fail(address: string, now: number): Promise<FailureCount> {
    const { attempts, windowS, durationS } = this.settings;
    const at = iso(now);
    const windowEnd = iso(now + windowS * 1000);
    const lockEnd = iso(now + durationS * 1000);
    const t = sql.ref('auth_lockouts');
    // The count this failure makes, from the row as it was (both dialects read the old row here).
    const next = sql`(case when ${t}.window_ends_at <= ${at} then 1 else ${t}.failures + 1 end)`;
    const lockedNow = sql`${t}.locked_until > ${at}`;
    const { rows } = await sql<{ failures: number; window_ends_at: string; locked_until: string | null }>`
      insert into auth_lockouts (address, failures, window_ends_at, locked_until)
      values (${address}, 1, ${attempts <= 1 ? lockEnd : windowEnd}, ${attempts <= 1 ? lockEnd : null})
      on conflict (address) do update set
        failures = case when ${lockedNow} then ${t}.failures + 1 else ${next} end,
        locked_until = case
          when ${lockedNow} then ${t}.locked_until
          when ${next} >= ${attempts} then ${lockEnd}
          else null end,
        window_ends_at = case
          when ${lockedNow} then ${t}.window_ends_at
          when ${next} >= ${attempts} then ${lockEnd}
          when ${t}.window_ends_at <= ${at} then ${windowEnd}
          else ${t}.window_ends_at end
      returning failures, window_ends_at, locked_until`.execute(this.db);
    const row = rows[0];
    if (!row) throw new Error('the lockout upsert returned no row');
    const failures = Number(row.failures);
    const lockedUntil = row.locked_until === null ? undefined : Date.parse(row.locked_until);
    if (this.failures.size >= MAX_REMEMBERED_FAILURES) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.delete(address);
    this.failures.set(address, { count: failures, windowEndsAt: Date.parse(row.window_ends_at) });
    if (lockedUntil !== undefined && lockedUntil > now) this.note(address, lockedUntil);
    // Counts are handed out one by one, so exactly one failure gets the count that locks.
    const started = lockedUntil !== undefined && failures === attempts;
    return { failures, lock: started ? { address, lockedUntil: new Date(lockEnd) } : undefined };
  }

  async succeed(address: string, now: number): Promise<void> {
    await this.db
      .deleteFrom('auth_lockouts')
      .where('address', '=', address)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', iso(now))]))
      .execute();
    this.failures.delete(address);
  }

  async list(now: number): Promise<Lockout[]> {
    return (await this.currentLocks(now)).map((r) => ({
      address: r.address,
      lockedUntil: new Date(r.locked_until as string),
    }));
  }

  async clear(address: string, now: number): Promise<boolean> {
    const removed = await this.db
      .deleteFrom('auth_lockouts')
      .where('address', '=', address)
      .returning('locked_until')
      .executeTakeFirst();
    this.failures.delete(address);
    this.note(address, undefined);
    return removed?.locked_until != null && Date.parse(removed.locked_until) > now;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
  }
}
