import { AuditService } from './audit/audit.service.js';
import { Authenticator } from './auth/authenticator.js';
import { BootstrapService } from './bootstrap/bootstrap.service.js';
import { ContractRouter } from './contract/operations.js';
import type { ContractDocument } from './contract/types.js';
import { ContractValidator } from './contract/validation.js';
import { CONTRACT } from './generated/contract.gen.js';
import type { Handler } from './http/handler.js';
import { adminHandlers } from './http/handlers/admin.handlers.js';
import { authHandlers } from './http/handlers/auth.handlers.js';
import { keysHandlers } from './http/handlers/keys.handlers.js';
import { metaHandlers } from './http/handlers/meta.handlers.js';
import { webhooksHandlers } from './http/handlers/webhooks.handlers.js';
import { Pipeline } from './http/pipeline.js';
import { KeyService } from './keys/key.service.js';
import { VerifyService } from './keys/verify.service.js';
import { ProtectionService } from './protection/protection.service.js';
import type { ServiceDeps } from './services.js';
import { SessionService } from './sessions/session.service.js';
import type { Store } from './store/store.js';
import { UserService } from './users/user.service.js';
import { WebhookService } from './webhooks/webhook.service.js';
import { WebhookOutbox } from './webhooks/webhook-outbox.js';

/** Every feature's service: the one way into it, for handlers and the command line alike. */
export interface CoreServices {
  store: Store;
  audit: AuditService;
  users: UserService;
  keys: KeyService;
  sessions: SessionService;
  bootstrap: BootstrapService;
  protection: ProtectionService;
  authenticator: Authenticator;
  verify: VerifyService;
  webhooks: WebhookService;
}

/** The handlers of every operation the rules answer the same on every host, by operationId. */
export const CORE_HANDLERS: Readonly<Record<string, Handler>> = {
  ...metaHandlers,
  ...authHandlers,
  ...keysHandlers,
  ...adminHandlers,
  ...webhooksHandlers,
};

export interface CoreOptions {
  /** Handlers of the host's own (the HTML pages), added to the core's. */
  handlers?: Readonly<Record<string, Handler>>;
  document?: ContractDocument;
}

export interface Core {
  services: CoreServices;
  pipeline: Pipeline;
  router: ContractRouter;
  validator: ContractValidator;
  document: ContractDocument;
}

let shared: { document: ContractDocument; router: ContractRouter; validator: ContractValidator } | undefined;

/** The router and validator of a document, built once per document and process. */
function contractOf(document: ContractDocument) {
  if (shared?.document !== document) {
    shared = { document, router: new ContractRouter(document), validator: new ContractValidator(document) };
  }
  return shared;
}

/** Builds the services and the request pipeline over the given storage and ports. */
export function createCore(deps: ServiceDeps, options: CoreOptions = {}): Core {
  const audit = new AuditService(deps.store, deps.clock, deps.report);
  const outbox = new WebhookOutbox(deps.clock);
  const users = new UserService(deps, audit, outbox);
  const keys = new KeyService(deps, audit, outbox);
  const sessions = new SessionService(deps, audit, users);
  const protection = new ProtectionService(deps, audit, outbox);
  const services: CoreServices = {
    store: deps.store,
    audit,
    users,
    keys,
    sessions,
    bootstrap: new BootstrapService(deps.store, users, keys, audit, outbox),
    protection,
    authenticator: new Authenticator(deps, { keys, sessions, users }),
    verify: new VerifyService(deps, keys, protection),
    webhooks: new WebhookService(deps, audit, outbox),
  };
  const { document, router, validator } = contractOf(options.document ?? CONTRACT);
  const pipeline = new Pipeline({
    router,
    validator,
    document,
    services,
    config: deps.config,
    handlers: { ...CORE_HANDLERS, ...options.handlers },
    report: deps.report,
    observe: deps.observe,
  });
  return { services, pipeline, router, validator, document };
}
