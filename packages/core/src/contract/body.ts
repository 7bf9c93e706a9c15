import { ApiError } from '../api-error.js';
import { LIMITS } from '../config.js';

/**
 * Checks a parsed JSON body before anything reads it: no level nests deeper than
 * `maxDepth` (400, instead of a stack overflow in whatever walks it next) and no string,
 * key included, holds a NUL (which no database stores as text). Walks without recursion.
 */
export function inspectBody(value: unknown, maxDepth: number = LIMITS.maxBodyDepth): void {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'string' && value.includes('\u0000')) throw nulError('body');
    return;
  }
  const pending: { value: unknown; path: string; depth: number }[] = [{ value, path: 'body', depth: 1 }];
  while (pending.length) {
    const next = pending.pop() as { value: unknown; path: string; depth: number };
    if (typeof next.value === 'string') {
      if (next.value.includes('\u0000')) throw nulError(next.path);
      continue;
    }
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth > maxDepth) {
      throw ApiError.field(next.path, `nests deeper than ${maxDepth} levels`);
    }
    if (Array.isArray(next.value)) {
      for (let i = next.value.length - 1; i >= 0; i--) {
        pending.push({ value: next.value[i], path: `${next.path}[${i}]`, depth: next.depth + 1 });
      }
    } else {
      const entries = Object.entries(next.value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i] as [string, unknown];
        const path = `${next.path}.${key}`;
        if (key.includes('\u0000')) throw nulError(path);
        pending.push({ value: item, path, depth: next.depth + 1 });
      }
    }
  }
}

function nulError(path: string): ApiError {
  return ApiError.field(path, 'must not contain the NUL character (\\u0000)');
}
