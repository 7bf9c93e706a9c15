import type { RulesConfig } from './config.js';
import type {
  Clock,
  CoreEvent,
  CredentialCache,
  ErrorReporter,
  LockoutStore,
  PasswordHasher,
  RequestCounter,
  SecretBox,
  UsageRecorder,
  WebhookNetwork,
} from './ports.js';
import type { Store } from './store/store.js';

/** What the services run on: storage, settings and the ports of their surroundings. */
export interface ServiceDeps {
  store: Store;
  config: RulesConfig;
  clock: Clock;
  secrets: SecretBox;
  passwords: PasswordHasher;
  cache: CredentialCache;
  usage: UsageRecorder;
  requests: RequestCounter;
  lockouts: LockoutStore;
  report: ErrorReporter;
  /** How webhooks are sent. */
  webhooks: WebhookNetwork;
  /** Told what happens, for metrics; nothing is told when absent. */
  observe?: ((event: CoreEvent) => void) | undefined;
}
