/**
 * Returns a function that names a key by its HMAC-SHA-256 under a random secret made for
 * this process and never exported (Web Crypto, so it runs in Node and in browsers). The
 * guard's cache is keyed by these names: a heap dump of it holds no key, and no name can be
 * checked against a guessed key without the secret.
 *
 * @example
 * ```ts
 * const digest = keyDigester();
 * (await digest('lk_…')) === (await digest('lk_…')); // true
 * ```
 */
export function keyDigester(): (key: string) => Promise<string> {
  const secret = crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const encoder = new TextEncoder();
  return async (key) => {
    const mac = await crypto.subtle.sign('HMAC', await secret, encoder.encode(key));
    let name = '';
    for (const byte of new Uint8Array(mac)) name += byte.toString(16).padStart(2, '0');
    return name;
  };
}
