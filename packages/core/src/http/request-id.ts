/** The header a request id arrives in and is sent back in. */
export const REQUEST_ID_HEADER = 'X-Request-Id';
/** The longest incoming request id that is kept. */
export const MAX_REQUEST_ID_LENGTH = 128;
/**
 * What an incoming request id may hold: letters, digits and `. _ : @ + / = -` (UUIDs, ULIDs,
 * base64, the ids of common proxies). Anything else (spaces, quotes, control characters, two
 * ids joined by a comma) is replaced, so that an id can never forge or break a log line.
 */
const REQUEST_ID = new RegExp(`^[A-Za-z0-9._:@+/=-]{1,${MAX_REQUEST_ID_LENGTH}}$`);

/** The id of an incoming request: its own X-Request-Id when acceptable, or a new UUID. */
export function requestIdOf(incoming: string | null | undefined): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : globalThis.crypto.randomUUID();
}
