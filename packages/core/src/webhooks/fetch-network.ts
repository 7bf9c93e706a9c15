import type { WebhookAnswer, WebhookNetwork } from '../ports.js';
import { MAX_READ_BODY_BYTES } from './webhook.rules.js';

/** Reads at most `max` bytes of a body and drops the rest unread. */
async function readStart(response: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  const reader = response.body?.getReader();
  if (!reader) return { text: '', truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  if (size >= max) {
    truncated = true;
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, max));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, all.length - at);
    all.set(part, at);
    at += part.length;
  }
  return { text: new TextDecoder().decode(all), truncated };
}

/**
 * Webhooks sent with `fetch`, for the mock: msw intercepts them, so nothing leaves the test.
 * Redirects are not followed, the whole exchange has a timeout, and at most 4 KiB of an
 * answer is read. It resolves no host name: the URL checks alone apply to names.
 *
 * @example
 * ```ts
 * const deps = { ...createMemoryDeps(), webhooks: fetchWebhookNetwork() };
 * ```
 */
export function fetchWebhookNetwork(
  fetcher: typeof globalThis.fetch = (...a) => globalThis.fetch(...a),
): WebhookNetwork {
  return {
    async send(request): Promise<WebhookAnswer> {
      const started = Date.now();
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, request.timeoutMs);
      try {
        const response = await fetcher(request.url, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          redirect: 'manual',
          signal: controller.signal,
        });
        const { text, truncated } = await readStart(response, MAX_READ_BODY_BYTES);
        return { ok: true, status: response.status, body: text, truncated, durationMs: Date.now() - started };
      } catch (err) {
        return {
          ok: false,
          timedOut,
          error: timedOut
            ? `no answer within ${request.timeoutMs} ms`
            : (err as Error).message || String(err),
          durationMs: Date.now() - started,
        };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
