/**
 * @latchkey/client/guard: protect a service's own API with Latchkey's keys. `createGuard`
 * checks each request's key through Latchkey's verify API (with a short cache) and returns a
 * verdict; `answerFor` turns a refusal into its HTTP answer.
 */
export {
  type CheckOptions,
  createGuard,
  type Guard,
  type GuardOptions,
  type KeyMethodSwitch,
} from './guard/guard.js';
export type { GuardRequest, NodeRequestLike } from './guard/request-facts.js';
export {
  answerFor,
  type GuardAnswer,
  type GuardCode,
  type GuardProblem,
  type GuardVerdict,
} from './guard/verdict.js';
