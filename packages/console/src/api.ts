// The console's one client: the browser's session cookie, with the CSRF token from the
// readable cookie the login sets. Rate limits are shown to the person, not waited out.
import {
  createLatchkeyClient,
  LatchkeyError,
  NetworkError,
  RateLimitError,
  ValidationError,
} from '@latchkey/client';

export const api = createLatchkeyClient({
  baseUrl: globalThis.location.origin,
  credentials: { session: true },
  maxRateLimitRetries: 0,
});

/** What went wrong with a call, as the console shows it. */
export interface Failure {
  /** The sentence shown next to the action: the problem's detail, else its title. */
  message: string;
  /** The problem code, for example `LAST_SUPERUSER`. */
  code: string;
  status: number;
  /** Messages by field name (`name`, `expires_at`), from a validation problem. */
  fields: Record<string, string>;
  /** Seconds to wait, for a 429. */
  retryAfter: number | undefined;
}

/** Turns anything a call threw into a {@link Failure}. */
export function describeFailure(error: unknown, now: number = Date.now()): Failure {
  if (error instanceof LatchkeyError) {
    const fields: Record<string, string> = {};
    if (error instanceof ValidationError) {
      for (const fault of error.errors) {
        const name = fault.field.replace(/^(body|query|path)\./, '').split(/[./[]/)[0] ?? fault.field;
        fields[name] = fields[name] ? `${fields[name]}; ${fault.message}` : fault.message;
      }
    }
    let message = error.detail ?? error.title;
    let retryAfter: number | undefined;
    if (error instanceof RateLimitError) {
      retryAfter = error.retryAfter;
      if (retryAfter !== undefined) {
        const at = new Date(now + retryAfter * 1000).toLocaleTimeString();
        message = `${message} Try again in ${retryAfter} s (at ${at}).`;
      }
    }
    return { message, code: error.code, status: error.status, fields, retryAfter };
  }
  if (error instanceof NetworkError) {
    return {
      message: `The server did not answer: ${error.message}`,
      code: 'NETWORK',
      status: 0,
      fields: {},
      retryAfter: undefined,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message, code: 'UNKNOWN', status: 0, fields: {}, retryAfter: undefined };
}
