/** What a conformance case is given when it runs: the target, the options, what this host can do, its wire. */
import type { Capabilities } from '../net/capabilities.js';
import type { EmbeddedServer, Target } from '../target/acquire.js';
import type { CaseWire } from './exchange.js';
import type { ResolvedCheckOptions } from './options.js';

/** How long a case waits, how often it tries and how much it asks, from the options and the preflight. */
export interface CaseTiming {
  /** Wait for one reply, ms: --timeout, or longer for a target that is far away or slow. */
  readonly timeoutMs: number;
  /**
   * Attempts of one exchange (1 + retries; PATH_LOSS_ATTEMPTS more once the run has seen the path
   * lose a datagram): only a timeout is retried. Read it at each attempt: it may grow during a case.
   */
  readonly attempts: number;
  /** The target's round trip and service time as the preflight measured them, ms (0: not measured, or fast). */
  readonly rttMs: number;
  readonly serviceMs: number;
  /** Requests in flight at once for a fan-out of `nominal`: fewer for a target that serves one at a time. */
  concurrency(nominal: number): number;
  /**
   * How many of `nominal` requests (clients, property runs) fit a case's time budget against this
   * target, at least `minimum`: `nominal` against a fast one. `sequential`: one after another.
   */
  scale(nominal: number, minimum: number, sequential: boolean, budgetMs?: number): number;
  /** Datagrams of a flood: `nominal`, or enough to overload a slow target a few times over for a while. */
  floodCount(nominal: number): number;
  /** A listening window of at least `ms`, longer on a slow path. */
  windowMs(ms: number): number;
  /** How long `requests` sent at once take to be served one after another, ms (0 for a fast target). */
  backlogMs(requests: number): number;
}

/** The run a case is part of, passed to `run(ctx)`; nothing about the run lives in module state. */
export interface CaseContext {
  readonly runId: string;
  readonly target: Target;
  /** The embedded reference server (its addresses), when the target is one. */
  readonly server?: EmbeddedServer;
  readonly options: ResolvedCheckOptions;
  readonly capabilities: Capabilities;
  /** The case's sockets and requests, every one of them watched by the run's ledger. */
  readonly wire: CaseWire;
  readonly timing: CaseTiming;
}
