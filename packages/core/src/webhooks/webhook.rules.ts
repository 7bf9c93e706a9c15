// Pure decisions of webhook delivery: what an attempt's result means for its delivery, when
// the next attempt is due, and how much of an answer is kept.
import type { AttemptOutcome, DeliveryStatus } from './webhook.record.js';

/** Each retry waits this many times longer than the one before. */
export const BACKOFF_FACTOR = 4;
/** Characters of a receiver's answer kept in the delivery log. */
export const MAX_LOGGED_BODY = 1024;
/** Bytes of a receiver's answer read at most; the rest is never read. */
export const MAX_READ_BODY_BYTES = 4096;

/**
 * How long to wait after attempt number `attempt` (1 for the first): `baseMs` times 4 to the
 * power `attempt - 1`, spread by ±25 % so that receivers that failed together are not retried
 * together. With the defaults (15 s, 8 attempts) the seven waits add up to about a day.
 */
export function retryDelayMs(attempt: number, baseMs: number, random: number = Math.random()): number {
  const exact = baseMs * BACKOFF_FACTOR ** Math.max(0, attempt - 1);
  return Math.round(exact * (0.75 + random * 0.5));
}

export interface AttemptResult {
  outcome: AttemptOutcome;
  statusCode: number | null;
}

export interface DeliveryDecision {
  status: DeliveryStatus;
  /** When the next attempt is due (epoch ms); undefined when there is none. */
  nextAttemptAt: number | undefined;
  /** True when the receiver answered 410 Gone: the webhook is switched off. */
  disable: boolean;
}

/**
 * What an attempt means: a 2xx delivers; a 410 fails the delivery and switches the webhook
 * off; an attempt that could not be signed fails at once (it never will be); anything else is
 * tried again with backoff until `maxAttempts`, then the delivery has failed.
 */
export function decideAfterAttempt(
  result: AttemptResult,
  attempt: number,
  settings: { maxAttempts: number; retryBaseMs: number },
  now: number,
  random: number = Math.random(),
): DeliveryDecision {
  if (result.outcome === 'delivered')
    return { status: 'delivered', nextAttemptAt: undefined, disable: false };
  if (result.statusCode === 410) return { status: 'failed', nextAttemptAt: undefined, disable: true };
  if (result.outcome === 'unsigned' || attempt >= settings.maxAttempts) {
    return { status: 'failed', nextAttemptAt: undefined, disable: false };
  }
  return {
    status: 'pending',
    nextAttemptAt: now + retryDelayMs(attempt, settings.retryBaseMs, random),
    disable: false,
  };
}

/** The outcome of an answer with this status. */
export function outcomeOfStatus(status: number): AttemptOutcome {
  return status >= 200 && status < 300 ? 'delivered' : 'http_error';
}

/** An answer's start for the log: at most MAX_LOGGED_BODY characters, marked when cut. */
export function truncateBody(text: string, cut: boolean): string {
  if (text.length > MAX_LOGGED_BODY) return `${text.slice(0, MAX_LOGGED_BODY - 1)}…`;
  return cut ? `${text}…` : text;
}
