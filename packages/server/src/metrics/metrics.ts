import { ApiError, type AuthMethod, type CoreEvent, type Presented } from '@latchkey/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read at scrape time, so that nothing is counted twice on the hot path. */
export interface MetricSources {
  /** Lookups of the credential cache, by kind, since the start. */
  cacheLookups(): Record<'key' | 'session' | 'basic', { hit: number; miss: number }>;
  /** Entries held by the credential cache, by kind. */
  cacheEntries(): Record<'key' | 'session' | 'basic', number>;
  /** Key uses waiting to be written (and being written) by the usage writer. */
  usageBacklog(): number;
  /** Webhook deliveries waiting to be sent (read from the database at scrape time). */
  webhookOutboxDepth(): Promise<number>;
}

/** The label of a request that matched no operation (unknown path, wrong method, body refused before routing). */
export const NO_OPERATION = 'none';

/** The X-Auth-Method of a presented credential; `none` without one, `unusable` for a disabled or broken one. */
export function methodOf(presented: Presented | undefined): AuthMethod | 'none' | 'unusable' {
  if (!presented) return 'none';
  switch (presented.type) {
    case 'key':
      return presented.method;
    case 'jwt':
      return 'JwtAuth';
    case 'session':
      return 'SessionAuth';
    case 'basic':
      return 'BasicAuth';
    case 'unusable':
      return 'unusable';
  }
}

/**
 * The events the request pipeline reports. Every method is cheap: a counter behind a
 * label set bound once. With metrics off the server uses `NO_METRICS`, whose methods do
 * nothing.
 */
export interface Metrics {
  readonly enabled: boolean;
  /** A request answered: its operationId (never the raw path), status and duration. */
  request(operation: string, status: number, seconds: number): void;
  /** A request authenticated with this method. */
  authenticated(method: AuthMethod): void;
  /**
   * A request refused while authenticating (or an error on the way). `presented` is asked
   * only here, off the hot path, which credential the request carried.
   */
  authenticationFailed(error: unknown, presented: () => Presented | undefined): void;
  /** A request refused by the rate limit of this policy. */
  rateLimited(policy: string): void;
  /** A request refused because its address is locked out. */
  lockedOutRefusal(): void;
  /** An address locked out after too many failures. */
  lockoutStarted(): void;
  /** A webhook delivery attempt ended with this result. */
  webhookAttempt(result: 'delivered' | 'retrying' | 'failed' | 'disabled'): void;
  /** The exposition text and its media type. */
  render(): Promise<{ contentType: string; text: string }>;
}

/** What the core tells, counted in the metrics. */
export function observeIn(metrics: Metrics): (event: CoreEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'authenticated':
        metrics.authenticated(event.method);
        break;
      case 'authentication_failed':
        metrics.authenticationFailed(event.error, event.presented);
        break;
      case 'rate_limited':
        metrics.rateLimited(event.policy);
        break;
      case 'locked_out_refusal':
        metrics.lockedOutRefusal();
        break;
      case 'lockout_started':
        metrics.lockoutStarted();
        break;
      case 'webhook_attempt':
        metrics.webhookAttempt(event.result);
        break;
    }
  };
}

/** Metrics switched off: nothing is counted and nothing is kept. */
export const NO_METRICS: Metrics = {
  enabled: false,
  request() {},
  authenticated() {},
  authenticationFailed() {},
  rateLimited() {},
  lockedOutRefusal() {},
  lockoutStarted() {},
  webhookAttempt() {},
  render: async () => {
    throw new ApiError('NOT_FOUND', 'Nothing is at GET /metrics: metrics are off (see LATCHKEY_METRICS).');
  },
};

/** Latency buckets in seconds: an authenticated request takes about a millisecond; a password hash about 50. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface RequestSeries {
  count: { inc(): void };
  duration: { observe(value: number): void };
}

/**
 * Prometheus metrics of one app, in a registry of its own (several apps in one process,
 * as in tests, do not mix). Labels only ever hold operationIds, status codes, method names,
 * problem codes and policy names: never a key, a username, a path or an address.
 */
export class PrometheusMetrics implements Metrics {
  readonly enabled = true;
  readonly registry = new Registry();
  private readonly requests: Counter<'operation' | 'status'>;
  private readonly durations: Histogram<'operation' | 'status'>;
  private readonly authentications: Counter<'method' | 'outcome'>;
  private readonly rateLimitRefusals: Counter<'policy'>;
  private readonly lockoutRefusals: Counter;
  private readonly lockouts: Counter;
  private readonly webhookAttempts: Counter<'result'>;
  /** Label sets bound once, by "operation status" and "method outcome". */
  private readonly requestSeries = new Map<string, RequestSeries>();
  private readonly authSeries = new Map<string, { inc(): void }>();

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'latchkey_http_requests_total',
      help: 'Requests answered, by operationId ("none" when no operation matched) and status.',
      labelNames: ['operation', 'status'],
      registers,
    });
    this.durations = new Histogram({
      name: 'latchkey_http_request_duration_seconds',
      help: 'Time from receiving a request to its answer, by operationId and status.',
      labelNames: ['operation', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.authentications = new Counter({
      name: 'latchkey_authentications_total',
      help: 'Authentications of requests, by method (X-Auth-Method, or none/unusable/multiple) and outcome (VALID or the problem code).',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.rateLimitRefusals = new Counter({
      name: 'latchkey_rate_limit_refusals_total',
      help: 'Requests refused with 429 RATE_LIMITED, by policy (key: the key own limit; default: the server limit).',
      labelNames: ['policy'],
      registers,
    });
    this.lockoutRefusals = new Counter({
      name: 'latchkey_lockout_refusals_total',
      help: 'Requests refused with 429 LOCKED_OUT because their address is locked out.',
      registers,
    });
    this.lockouts = new Counter({
      name: 'latchkey_lockouts_total',
      help: 'Client addresses locked out after too many failed authentications.',
      registers,
    });
    this.webhookAttempts = new Counter({
      name: 'latchkey_webhook_deliveries_total',
      help: 'Webhook delivery attempts by result: delivered (a 2xx), retrying (another attempt is due), failed (given up), disabled (the receiver answered 410 and the webhook was switched off).',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['delivered', 'retrying', 'failed', 'disabled'])
      this.webhookAttempts.inc({ result }, 0);
    new Gauge({
      name: 'latchkey_webhook_outbox_depth',
      help: 'Webhook deliveries waiting to be sent (due now or later), on every instance sharing the database.',
      registers,
      async collect() {
        this.set(await sources.webhookOutboxDepth());
      },
    });
    new Counter({
      name: 'latchkey_auth_cache_lookups_total',
      help: 'Lookups in the cache of verified credentials, by kind (key, session, basic) and result (hit, miss).',
      labelNames: ['kind', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [kind, { hit, miss }] of Object.entries(sources.cacheLookups())) {
          this.inc({ kind, result: 'hit' }, hit);
          this.inc({ kind, result: 'miss' }, miss);
        }
      },
    });
    new Gauge({
      name: 'latchkey_auth_cache_entries',
      help: 'Verified credentials held in memory, by kind (key, session, basic).',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const [kind, n] of Object.entries(sources.cacheEntries())) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'latchkey_key_usage_backlog',
      help: 'Keys whose last use is waiting to be written to the database (or being written).',
      registers,
      collect() {
        this.set(sources.usageBacklog());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  request(operation: string, status: number, seconds: number): void {
    const id = `${operation} ${status}`;
    let series = this.requestSeries.get(id);
    if (!series) {
      const labels = { operation, status: String(status) };
      series = { count: this.requests.labels(labels), duration: this.durations.labels(labels) };
      this.requestSeries.set(id, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  private countAuthentication(method: string, outcome: string): void {
    const id = `${method} ${outcome}`;
    let series = this.authSeries.get(id);
    if (!series) {
      series = this.authentications.labels({ method, outcome });
      this.authSeries.set(id, series);
    }
    series.inc();
  }

  authenticated(method: AuthMethod): void {
    this.countAuthentication(method, 'VALID');
  }

  authenticationFailed(error: unknown, presented: () => Presented | undefined): void {
    let method: string;
    try {
      method = methodOf(presented());
    } catch {
      // Only two credentials in one request make presenting fail.
      method = 'multiple';
    }
    this.countAuthentication(method, error instanceof ApiError ? error.code : 'INTERNAL_ERROR');
  }

  rateLimited(policy: string): void {
    this.rateLimitRefusals.inc({ policy });
  }

  lockedOutRefusal(): void {
    this.lockoutRefusals.inc();
  }

  lockoutStarted(): void {
    this.lockouts.inc();
  }

  webhookAttempt(result: 'delivered' | 'retrying' | 'failed' | 'disabled'): void {
    this.webhookAttempts.inc({ result });
  }

  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
