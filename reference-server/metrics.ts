import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { HarnessError } from '../harness/errors.js';
import type { ServerGauges } from './server.js';
import { DROP_REASONS, type DetailedStats, type FamilyStats, type SocketFamily } from './server-stats.js';
import { formatEndpoint } from '../harness/core/address.js';

/** What the metrics endpoint reads at each scrape: the server's counters are never touched per datagram here. */
export interface MetricsSource {
  detailedStats(): DetailedStats;
  gauges(): ServerGauges;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Where it listens, e.g. '127.0.0.1:9707'. */
  readonly endpoint: string;
  /** The URL to scrape. */
  readonly url: string;
  /** Idempotent. */
  close(): Promise<void>;
}

const FAMILIES: readonly [SocketFamily, string][] = [
  ['udp4', 'ipv4'],
  ['udp6', 'ipv6'],
];

/** Parses `HOST:PORT` (IPv6 in brackets) as --metrics takes it; throws a usage error naming the value. */
export function parseMetricsEndpoint(raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || isIP(host) === 0 || !Number.isInteger(port) || port > 65535) {
    throw new HarnessError(
      'ERR_ECHOLOT_USAGE',
      `--metrics ${raw}: must be HOST:PORT with a literal address, e.g. 127.0.0.1:9707 or [::1]:9707`,
    );
  }
  return { host, port };
}

/** A registry with the server's counters (read at scrape time) and the process metrics (RSS, descriptors). */
export function metricsRegistry(source: MetricsSource): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register });
  // prom-client's nodejs_active_{handles,requests,resources}_total are gauges named like counters,
  // which Prometheus' lint (`promtool check metrics`) rejects; their labelled siblings without the
  // suffix stay (the total is their sum). Any other default gauge so named goes the same way.
  for (const metric of register.getMetricsAsArray()) {
    if (!(metric instanceof Counter) && metric.name.endsWith('_total'))
      register.removeSingleMetric(metric.name);
  }

  // Counters mirror the server's own totals at each scrape: reset, then set to the current value.
  const familyCounter = (name: string, help: string, pick: (f: FamilyStats) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['family'],
      registers: [register],
      collect() {
        const d = source.detailedStats();
        this.reset();
        for (const [fam, label] of FAMILIES) this.inc({ family: label }, pick(d[fam]));
      },
    });
  };
  familyCounter('echolot_datagrams_received_total', 'Datagrams received.', (f) => f.received);
  familyCounter('echolot_datagrams_echoed_total', 'Replies the kernel accepted.', (f) => f.echoed);
  familyCounter('echolot_bytes_received_total', 'Payload bytes received.', (f) => f.bytesIn);
  familyCounter(
    'echolot_bytes_echoed_total',
    'Payload bytes the kernel accepted for sending.',
    (f) => f.bytesOut,
  );
  familyCounter('echolot_errors_total', 'Socket errors and failed sends.', (f) => f.errors);
  new Counter({
    name: 'echolot_datagrams_dropped_total',
    help: 'Datagrams not answered, by reason.',
    labelNames: ['family', 'reason'],
    registers: [register],
    collect() {
      const d = source.detailedStats();
      this.reset();
      for (const [fam, label] of FAMILIES) {
        for (const reason of DROP_REASONS) this.inc({ family: label, reason }, d[fam].dropped[reason]);
      }
    },
  });
  const gauge = (name: string, help: string, pick: (g: ServerGauges) => number): void => {
    new Gauge({
      name,
      help,
      registers: [register],
      collect() {
        this.set(pick(source.gauges()));
      },
    });
  };
  gauge('echolot_inflight_replies', 'Replies handed to the kernel and not yet confirmed.', (g) => g.inflight);
  gauge('echolot_sockets', 'Server sockets open.', (g) => g.sockets);
  gauge(
    'echolot_rate_limit_sources',
    'Source addresses tracked for access control and rate limits.',
    (g) => g.trackedSources,
  );
  new Counter({
    name: 'echolot_rate_limit_sources_evicted_total',
    help: 'Source addresses forgotten to keep the table bounded.',
    registers: [register],
    collect() {
      this.reset();
      this.inc(source.gauges().evictedSources);
    },
  });
  return register;
}

/** Serves GET /metrics in the Prometheus text format on `host`:`port` (port 0 = ephemeral). */
export async function startMetricsServer(
  host: string,
  port: number,
  source: MetricsSource,
): Promise<MetricsServer> {
  const register = metricsRegistry(source);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('echolot serve: metrics are at /metrics\n');
      return;
    }
    register.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': register.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`);
      },
    );
  });
  // A slow or stuck scraper must not hold descriptors forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      reject(
        new HarnessError(
          'ERR_ECHOLOT_BIND',
          `cannot listen for metrics on tcp ${formatEndpoint(host, port)}: ${err.message}`,
          { cause: err },
        ),
      );
    });
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const endpoint = formatEndpoint(host, bound);
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    url: `http://${endpoint}/metrics`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
