/**
 * What the Latchkey server and the mock must agree on, in one browser-safe place: the
 * problem codes and their one error class, and the shape of a key.
 */
export { ApiError, type FieldError, type Problem, toProblem } from './api-error.js';
export { ERROR_CODES, type ErrorCode } from './error-codes.js';
export {
  CHECKSUM_LENGTH,
  checksum,
  crc32,
  generateKey,
  inspectKey,
  type KeyShape,
  keyStart,
  MAX_KEY_LENGTH,
  MIN_SUPPLIED_KEY_LENGTH,
  RANDOM_LENGTH,
  randomBase62,
  suppliedKeyProblem,
} from './key-format.js';
