/** The reference echo server: a known-good RFC 862 server the harness checks itself against. */
export {
  BIND_ALL,
  MAX_INFLIGHT_LIMIT,
  MAX_RATE_LIMIT,
  MAX_SOURCES_LIMIT,
  SERVE_DEFAULTS,
  bindAddressProblem,
  resolveServeOptions,
  type LogLevel,
  type LogSink,
  type ResolvedServeOptions,
  type ServeOptions,
} from './options.js';
export {
  DROP_REASONS,
  type DetailedStats,
  type DropReason,
  type FamilyStats,
  type ServerStats,
  type SocketFamily,
} from './server-stats.js';
export { LOOP_GUARD, createLoopGuard, type LoopGuard, type LoopGuardOptions } from './loop-guard.js';
export { ACCEPT, createPolicy, parseRange, type Policy, type PolicyOptions, type Verdict } from './policy.js';
export {
  metricsRegistry,
  parseMetricsEndpoint,
  startMetricsServer,
  type MetricsServer,
  type MetricsSource,
} from './metrics.js';
export { startReferenceServer, type ReferenceServer, type ServerGauges } from './server.js';
