import { ApiError } from '../api-error.js';
import { type IncomingBody, NO_BODY } from './pipeline.js';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json$/i;

/** The media type of a Content-Type header, without parameters, lower-case. */
export function mediaType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** True for application/json and its `+json` variants. */
export function isJsonType(type: string): boolean {
  return JSON_TYPE.test(type);
}

/**
 * A request body read as text, for hosts that get it whole (fetch's Request): refused when
 * larger than `maxBytes` (413), parsed when it is JSON (400 MALFORMED_JSON when it is not).
 */
export function readJsonBody(
  text: string,
  contentType: string | null | undefined,
  maxBytes: number,
): IncomingBody {
  const type = mediaType(contentType);
  if (text === '') return { ...NO_BODY, type, json: isJsonType(type) };
  if (new TextEncoder().encode(text).length > maxBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', 'The request body is larger than the server accepts.');
  }
  if (!isJsonType(type)) return { present: true, json: false, type, value: undefined };
  try {
    return { present: true, json: true, type, value: JSON.parse(text) as unknown };
  } catch {
    throw ApiError.field('body', 'is not valid JSON', 'MALFORMED_JSON');
  }
}
