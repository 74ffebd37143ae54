/** The reference echo server: a known-good RFC 862 server the harness checks itself against. */
export {
  BIND_ALL,
  MAX_INFLIGHT_LIMIT,
  SERVE_DEFAULTS,
  bindAddressProblem,
  resolveServeOptions,
  type LogLevel,
  type LogSink,
  type ResolvedServeOptions,
  type ServeOptions,
} from './options.js';
export type { ServerStats } from './server-stats.js';
export { startReferenceServer, type ReferenceServer } from './server.js';
