import { DEFAULT_RULES, type RulesConfig } from './config.js';
import type { Clock, ErrorReporter } from './ports.js';
import { NO_CACHE } from './ports.js';
import { MemoryLockoutStore, MemoryRequestCounter } from './protection/memory-counters.js';
import { createWebCryptoSecrets, WEB_CRYPTO_PASSWORDS } from './secrets/web-crypto-secrets.js';
import type { ServiceDeps } from './services.js';
import { MemoryStore } from './store/memory-store.js';
import { fetchWebhookNetwork } from './webhooks/fetch-network.js';

/**
 * Everything the services need, in memory: Maps for storage, counters on the given clock,
 * Web Crypto for secrets, no cache (there is nothing to save), last use written at once,
 * and webhooks sent with `fetch` (which msw intercepts).
 *
 * @example
 * ```ts
 * const core = createCore(createMemoryDeps({ rateLimit: 5 }));
 * ```
 */
export function createMemoryDeps(
  config: Partial<RulesConfig> = {},
  clock: Clock = () => Date.now(),
  report: ErrorReporter = (message, detail) => console.error(message, detail),
): ServiceDeps & { store: MemoryStore } {
  const rules: RulesConfig = { ...DEFAULT_RULES, ...config };
  const store = new MemoryStore();
  return {
    store,
    config: rules,
    clock,
    secrets: createWebCryptoSecrets(),
    passwords: WEB_CRYPTO_PASSWORDS,
    cache: NO_CACHE,
    usage: {
      record: (id, ip, at) => {
        void store.keys.recordUsage([{ id, ip, at: new Date(at).toISOString() }]);
      },
    },
    requests: new MemoryRequestCounter(clock),
    lockouts: new MemoryLockoutStore(clock, {
      attempts: rules.lockoutAttempts,
      windowS: rules.lockoutWindowS,
      durationS: rules.lockoutDurationS,
    }),
    report,
    webhooks: fetchWebhookNetwork(),
  };
}
