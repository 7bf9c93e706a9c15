/**
 * One exchange the mock answered: the operation, the request and a copy of the response.
 *
 * @example
 * ```ts
 * const log = (exchange: MockExchange) => console.log(exchange.operationId, exchange.response.status);
 * observeResponses(log);
 * ```
 */
export interface MockExchange {
  operationId: string;
  request: Request;
  response: Response;
}

/**
 * Something that wants to see every response the mock produces.
 *
 * @example
 * ```ts
 * const observer: ExchangeObserver = ({ request }) => console.log(request.method, request.url);
 * ```
 */
export type ExchangeObserver = (exchange: MockExchange) => void;

const observers = new Set<ExchangeObserver>();

/**
 * Calls `observer` with every response any mock in this process produces, before the
 * caller gets it; returns a function that stops it. The package's own contract test
 * checks each one against openapi.yaml this way, and so can yours.
 *
 * @example
 * ```ts
 * import { observeResponses } from '@latchkey/mock';
 *
 * const seen: string[] = [];
 * const stop = observeResponses(({ operationId, response }) => seen.push(`${operationId} ${response.status}`));
 * // ... run requests against the mock ...
 * stop();
 * ```
 */
export function observeResponses(observer: ExchangeObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/** Hands an exchange to every observer. */
export function notifyObservers(exchange: () => MockExchange): void {
  if (observers.size === 0) return;
  const value = exchange();
  for (const observer of observers) observer(value);
}
