/**
 * How long cases wait and how much they ask of the target, from the options and what the preflight
 * measured: a correct server that is far away, slow or serves one request at a time is given the
 * time it needs, never failed for it. Against a fast server on loopback everything is as nominal.
 */
import type { PreflightTiming } from '../target/preflight.js';
import type { CaseTiming } from './context.js';
import type { ResolvedCheckOptions } from './options.js';

/** A case's time budget for work it can scale (requests, clients, property runs), ms. */
const CASE_BUDGET_MS = 5000;

/**
 * Further attempts once the run has seen the path lose a datagram (a retry answered where the first
 * attempt got nothing). Over a path that loses 2% of datagrams each way, a request is lost on 3
 * attempts in a row about once in 16,000, so a case of 200 requests would fail a correct server one
 * run in 80; on 6 attempts, about once in 4 billion per request. A target that drops some requests
 * for good still drops them on every attempt: it is failed as before, a few timeouts later.
 */
export const PATH_LOSS_ATTEMPTS = 3;

/** How far a flood overloads what the target serves, and for how long, when it is scaled down. */
const FLOOD = { overload: 4, seconds: 2, minimum: 20 } as const;

/** Below this service time, ms, the target serves requests as fast as they come (nothing to scale). */
const FAST_SERVICE_MS = 1;

/** The timing of a check's cases: the options' timeout and retries, widened for a far or slow target. */
export function caseTiming(
  options: ResolvedCheckOptions,
  pace?: PreflightTiming,
  lossSeen: () => boolean = () => false,
): CaseTiming {
  const rttMs = pace?.rttMs ?? 0;
  const rttMaxMs = pace?.rttMaxMs ?? 0;
  const serviceMs = pace && pace.serviceMs >= FAST_SERVICE_MS ? pace.serviceMs : 0;
  // Room for the round trip and for a few requests queued ahead at the target.
  const timeoutMs = Math.max(options.timeoutMs, Math.ceil(2 * rttMaxMs + 3 * serviceMs));
  const concurrency = (nominal: number): number =>
    serviceMs === 0 ? nominal : Math.max(1, Math.min(nominal, Math.floor(timeoutMs / serviceMs / 2)));
  const cost = (sequential: boolean, nominal: number): number =>
    sequential ? rttMs + serviceMs : Math.max(serviceMs, rttMs / concurrency(nominal));
  const scale = (
    nominal: number,
    minimum: number,
    sequential: boolean,
    budgetMs = CASE_BUDGET_MS,
  ): number => {
    const each = cost(sequential, nominal);
    if (each <= 0) return nominal;
    return Math.max(Math.min(minimum, nominal), Math.min(nominal, Math.floor(budgetMs / each)));
  };
  return {
    timeoutMs,
    get attempts(): number {
      return options.retries + 1 + (lossSeen() ? PATH_LOSS_ATTEMPTS : 0);
    },
    rttMs,
    serviceMs,
    concurrency,
    scale,
    floodCount: (nominal) =>
      serviceMs === 0
        ? nominal
        : Math.min(
            nominal,
            Math.max(FLOOD.minimum, Math.ceil((1000 / serviceMs) * FLOOD.seconds * FLOOD.overload)),
          ),
    windowMs: (ms) => Math.max(ms, Math.ceil(2 * rttMaxMs + 2 * serviceMs)),
    backlogMs: (requests) => Math.ceil(Math.max(0, requests) * serviceMs),
  };
}
