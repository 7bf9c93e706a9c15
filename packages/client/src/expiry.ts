/**
 * Passed to `onCredentialExpiring`.
 *
 * @example
 * ```ts
 * const onCredentialExpiring = ({ expiresAt, msLeft }: CredentialExpiringEvent) =>
 *   console.warn(`the Latchkey key expires ${expiresAt.toISOString()} (${Math.round(msLeft / 3.6e6)} h left)`);
 * ```
 */
export interface CredentialExpiringEvent {
  /** When the credential stops working. */
  expiresAt: Date;
  /** Milliseconds left when the warning fired. */
  msLeft: number;
}

/** The default `expiryWarningMs`: warn a week ahead. */
export const DEFAULT_EXPIRY_WARNING_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Reads `X-Auth-Expires`: an RFC 3339 date, or `never` (null). Undefined when the value is
 * neither, so that an unreadable header changes nothing.
 *
 * @example
 * ```ts
 * parseAuthExpires('never'); // null
 * parseAuthExpires('2026-12-22T10:30:00.000Z'); // Date
 * ```
 */
export function parseAuthExpires(value: string): Date | null | undefined {
  const trimmed = value.trim();
  if (trimmed.toLowerCase() === 'never') return null;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : new Date(at);
}

/**
 * Follows the credential's expiry through the `X-Auth-Expires` header of each response
 * and calls `onExpiring` once when less than `warningMs` is left.
 *
 * @example
 * ```ts
 * const watch = new ExpiryWatch(DEFAULT_EXPIRY_WARNING_MS, ({ msLeft }) => console.warn(`${msLeft} ms left`));
 * watch.observe(response.headers);
 * watch.expiresAt; // Date, null for never, undefined before any authenticated response
 * ```
 */
export class ExpiryWatch {
  private current: Date | null | undefined;
  private warned = false;

  constructor(
    private readonly warningMs: number,
    private readonly onExpiring: ((event: CredentialExpiringEvent) => void) | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** The credential's expiry: a Date, null when it never expires, undefined when not yet known. */
  get expiresAt(): Date | null | undefined {
    return this.current;
  }

  /**
   * Reads the headers of one response. `warn: false` records the expiry without calling
   * the hook (for credentials the client renews itself).
   */
  observe(headers: Headers, warn = true): void {
    const raw = headers.get('x-auth-expires');
    if (raw === null) return;
    const expiresAt = parseAuthExpires(raw);
    if (expiresAt === undefined) return;
    this.current = expiresAt;
    if (!warn || this.warned || expiresAt === null || !this.onExpiring) return;
    const msLeft = expiresAt.getTime() - this.now();
    if (msLeft < this.warningMs) {
      this.warned = true;
      this.onExpiring({ expiresAt, msLeft });
    }
  }

  /** Forgets the expiry and re-arms the warning (new credentials). */
  reset(): void {
    this.current = undefined;
    this.warned = false;
  }
}
