import { nonce } from '../../harness/probes/payloads.js';
import { exchangeEvidence, noReplyPhrase, type ExchangeResult } from '../../harness/probes/exchange.js';
import {
  probeSourcePort,
  sourceAddressFor,
  sourcePortEvidence,
  type SourcePortProbe,
} from '../../harness/probes/source-port.js';
import { pythonAvailable, rawUdpProbe } from '../../harness/probes/raw-udp.js';
import { flood, floodEvidence, type FloodResult } from '../../harness/probes/flood.js';
import { isLoopback } from '../../harness/runner/capabilities.js';
import type { ActiveRun } from '../../harness/runner/active-run.js';
import { formatEndpoint } from '../../harness/spec/target.js';
import { conformanceCase, info, met, unsupported, violated, type CaseOutcome } from '../support/case.js';
import { request } from '../support/request.js';

/** Source ports of the classic loop and reflection services, as 7.2 names them. */
const LOOP_SERVICES: readonly (readonly [number, string])[] = [
  [19, 'chargen'],
  [9, 'discard'],
  [13, 'daytime'],
  [37, 'time'],
];

/** NetBSD inetd's bad_ports list (usr.sbin/inetd): exactly these are refused. */
const NETBSD_PORTS: readonly number[] = [7, 9, 13, 19, 37];

/** Further privileged ports 7.3 probes: tcpmux, qotd, domain, sunrpc, ntp, exec/biff, the last one. */
const OTHER_LOW_PORTS: readonly number[] = [1, 17, 53, 111, 123, 512, 1023];

/** NFS: OpenBSD inetd's dg_badinput refuses it besides every port below 1024. */
const NFS_PORT = 2049;

/** Shortest silence that counts as "no reply"; longer on slow paths (10 control round trips). */
const MIN_SILENCE_MS = 400;

/** Sizes of the 7.5 burst besides the largest datagram this client can send. */
const BURST_SIZES: readonly number[] = [0, 1, 8, 64, 512, 1400, 4096, 16384];

/** Socket buffers for bursts with large datagrams. */
const BIG_BUFFER = 4 << 20;

/** 7.6: datagrams, burst size, burst interval, cap on sending time, timeline slice. */
const FLOOD = { count: 20_000, burst: 100, intervalMs: 10, maxSendMs: 2000, sliceMs: 200, size: 16 };

const tag = (id: string) => (): Buffer => Buffer.from(`echolot ${id} ${nonce()}`, 'latin1');

/** A local address to send from, proven to be answered from an ephemeral port, and how long silence must last. */
interface Setup {
  readonly address: string;
  readonly why: string;
  readonly control: ExchangeResult;
  readonly windowMs: number;
  readonly evidence: Record<string, unknown>;
}

/**
 * Picks the source address and sends one control echo from it (ephemeral port, retried on
 * timeout): silence towards a low port proves nothing unless the server answers that address.
 */
async function setUp(run: ActiveRun, id: string): Promise<Setup | CaseOutcome> {
  const to = { address: run.target.address, port: run.target.port };
  const src = await sourceAddressFor(to, run.target.family, run.capabilities);
  if (src.kind === 'none') return unsupported(src.reason);
  let control: ExchangeResult;
  try {
    control = await request(run, tag(id), { bindAddress: src.address });
  } catch (err) {
    return unsupported(
      `cannot send from ${src.address}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const evidence = { sourceAddress: `${src.address} (${src.why})`, control: exchangeEvidence(control) };
  if (!control.reply) {
    return unsupported(
      `the server does not answer ${src.address} even from an ephemeral port (${noReplyPhrase(control, run.options.timeoutMs)}), so silence towards a low port would prove nothing; BSD inetds drop every 127/8 source`,
      evidence,
    );
  }
  const rttMs = Number(control.rttNs ?? 0n) / 1e6;
  const windowMs = Math.min(run.options.timeoutMs, Math.max(MIN_SILENCE_MS, Math.ceil(rttMs * 10)));
  return { address: src.address, why: src.why, control, windowMs, evidence: { ...evidence, windowMs } };
}

const isSetup = (s: Setup | CaseOutcome): s is Setup => 'windowMs' in s;

/** Probes several source ports at once from the set-up address. */
function probePorts(
  run: ActiveRun,
  setup: Setup,
  ports: readonly number[],
  id: string,
): Promise<SourcePortProbe[]> {
  const to = { address: run.target.address, port: run.target.port };
  return Promise.all(
    ports.map((port) =>
      probeSourcePort(to, run.target.family, setup.address, port, tag(id)(), setup.windowMs),
    ),
  );
}

const replyPhrase = (p: SourcePortProbe): string => {
  const r = p.replies[0];
  return r
    ? `${p.replies.length} repl${p.replies.length === 1 ? 'y' : 'ies'} from ${formatEndpoint(r.from.address, r.from.port)} (${r.data.length} bytes)`
    : 'no reply';
};

const list = (ports: readonly number[]): string => (ports.length ? ports.join(', ') : 'none');

/** 7.3's verdict in words: which known inetd policy the refused set matches. */
function classifyPolicy(refused: Set<number>, answered: Set<number>): string {
  const low = (s: Set<number>): number[] => [...s].filter((p) => p < 1024).sort((a, b) => a - b);
  const refusedLow = low(refused);
  const answeredLow = low(answered);
  const nfs = refused.has(NFS_PORT) ? 'refused' : answered.has(NFS_PORT) ? 'answered' : 'not probed';
  const tail = `(refused: ${list(refusedLow)}; answered: ${list(answeredLow)}; ${NFS_PORT}: ${nfs})`;
  if (refusedLow.length === 0) return `none: answers every probed source port below 1024 ${tail}`;
  if (answeredLow.length === 0) {
    return refused.has(NFS_PORT)
      ? `OpenBSD-like: refuses every probed source port below 1024 and ${NFS_PORT} (NFS), as OpenBSD inetd's dg_badinput does ${tail}`
      : `refuses every probed source port below 1024, like OpenBSD inetd's dg_badinput but without its NFS (${NFS_PORT}) rule ${tail}`;
  }
  const probedLoop = NETBSD_PORTS.filter((p) => refused.has(p) || answered.has(p));
  if (refusedLow.length === probedLoop.length && probedLoop.every((p) => refused.has(p))) {
    return `NetBSD-like: refuses exactly the loop ports ${list(NETBSD_PORTS)} (NetBSD inetd's bad_ports list) and answers the other privileged ports ${tail}`;
  }
  if (refusedLow.every((p) => NETBSD_PORTS.includes(p))) {
    return `refuses only some loop ports, as FreeBSD inetd does (it refuses the ports of the built-in datagram services it runs) ${tail}`;
  }
  return `its own list ${tail}`;
}

describe('7 Loop and abuse protection', () => {
  conformanceCase('7.1', async (run) => {
    if (!run.capabilities.privileged) {
      return unsupported('binding source port 7 needs root or CAP_NET_BIND_SERVICE');
    }
    const setup = await setUp(run, '7.1');
    if (!isSetup(setup)) return setup;
    const [probe] = await probePorts(run, setup, [7], '7.1');
    if (!probe) throw new Error('7.1: no probe result');
    const evidence = { ...setup.evidence, probe: sourcePortEvidence(setup.address, probe) };
    if (probe.outcome === 'unbindable') {
      return unsupported(`cannot bind ${setup.address}:7 (${probe.errno})`, evidence);
    }
    if (probe.outcome === 'answered') {
      return violated(
        `answered a datagram from source port 7 (${replyPhrase(probe)}): two such echo services bounce a datagram between them forever`,
        evidence,
      );
    }
    return met(
      `no reply within ${setup.windowMs} ms to a datagram from ${setup.address}:7 (an ephemeral port on the same address was answered)`,
      evidence,
    );
  });

  conformanceCase('7.2', async (run) => {
    if (!run.capabilities.privileged) {
      return unsupported('binding source ports 19, 9, 13 and 37 needs root or CAP_NET_BIND_SERVICE');
    }
    const setup = await setUp(run, '7.2');
    if (!isSetup(setup)) return setup;
    const probes = await probePorts(
      run,
      setup,
      LOOP_SERVICES.map(([port]) => port),
      '7.2',
    );
    const name = (port: number): string => `${port} (${LOOP_SERVICES.find(([p]) => p === port)?.[1]})`;
    const evidence = {
      ...setup.evidence,
      probes: probes.map((p) => sourcePortEvidence(setup.address, p)),
    };
    const unbindable = probes.filter((p) => p.outcome === 'unbindable');
    const answered = probes.filter((p) => p.outcome === 'answered');
    const note = unbindable.length
      ? `; not probed: ${unbindable.map((p) => `${p.port} (${p.errno})`).join(', ')}`
      : '';
    if (answered.length > 0) {
      return violated(
        `answered datagrams from source ports ${answered.map((p) => `${name(p.port)}: ${replyPhrase(p)}`).join('; ')}${note}`,
        evidence,
      );
    }
    if (unbindable.length === probes.length) {
      return unsupported(`cannot bind any of the ports on ${setup.address}${note}`, evidence);
    }
    const silent = probes.filter((p) => p.outcome === 'silent').map((p) => name(p.port));
    return met(
      `no reply within ${setup.windowMs} ms from source ports ${silent.join(', ')}${note}`,
      evidence,
    );
  });

  conformanceCase('7.3', async (run) => {
    if (!run.capabilities.privileged) {
      return unsupported('binding source ports below 1024 needs root or CAP_NET_BIND_SERVICE');
    }
    const setup = await setUp(run, '7.3');
    if (!isSetup(setup)) return setup;
    const ports = [...NETBSD_PORTS, ...OTHER_LOW_PORTS, NFS_PORT];
    const first = await probePorts(run, setup, ports, '7.3');
    // A silent port may only have lost its datagram: ask it once more before calling it refused.
    const again = await probePorts(
      run,
      setup,
      first.filter((p) => p.outcome === 'silent').map((p) => p.port),
      '7.3',
    );
    const final = first.map((p) => again.find((a) => a.port === p.port) ?? p);
    const refused = new Set(final.filter((p) => p.outcome === 'silent').map((p) => p.port));
    const answered = new Set(final.filter((p) => p.outcome === 'answered').map((p) => p.port));
    const unbindable = final.filter((p) => p.outcome === 'unbindable');
    const evidence = {
      ...setup.evidence,
      probes: final.map((p) => sourcePortEvidence(setup.address, p)),
      secondRound: again.map((p) => p.port),
    };
    if (refused.size + answered.size === 0) {
      return unsupported(`cannot bind any probed port on ${setup.address}`, evidence);
    }
    const note = unbindable.length
      ? `; not probed: ${unbindable.map((p) => `${p.port} (${p.errno})`).join(', ')}`
      : '';
    return info(`${classifyPolicy(refused, answered)}${note}`, evidence);
  });

  conformanceCase('7.4', async (run) => {
    const caps = run.capabilities;
    if (!caps.linux)
      return unsupported(`the raw-socket helper needs Linux raw UDP sockets; this is ${caps.os}`);
    if (!caps.rawSockets) {
      return unsupported(
        'sending from source port 0 needs a raw socket (root or CAP_NET_RAW); node:dgram cannot',
      );
    }
    if (run.target.family !== 'IPv4' || !isLoopback(run.target.address)) {
      return unsupported(
        `the raw-socket helper writes IPv4 datagrams to loopback targets only (the target is ${run.target.address}); it stays off real networks`,
      );
    }
    if (!pythonAvailable())
      return unsupported('sending from source port 0 needs python3 (raw-socket helper); none found');
    const setup = await setUp(run, '7.4');
    if (!isSetup(setup)) return setup;
    const payload = tag('7.4')();
    const to = { address: run.target.address, port: run.target.port };
    const r = await rawUdpProbe({ from: { address: setup.address, port: 0 }, to, payload }, setup.windowMs);
    if (r.kind === 'error') return unsupported(r.reason, setup.evidence);
    const evidence = {
      ...setup.evidence,
      probe: {
        local: formatEndpoint(setup.address, 0),
        sentLength: payload.length,
        replies: r.replies.map((x) => ({
          from: formatEndpoint(x.from.address, x.from.port),
          length: x.data.length,
        })),
      },
    };
    const reply = r.replies[0];
    if (reply) {
      return violated(
        `answered a datagram from source port 0 (reply from ${formatEndpoint(reply.from.address, reply.from.port)}, ${reply.data.length} bytes): port 0 means no reply is expected`,
        evidence,
      );
    }
    return met(`no reply within ${setup.windowMs} ms to a datagram from ${setup.address}:0`, evidence);
  });

  conformanceCase('7.5', async (run) => {
    const largest = run.capabilities.maxDatagram[run.target.family];
    const sizes = [
      ...BURST_SIZES.filter((s) => largest === 0 || s <= largest),
      ...(largest > 0 ? [largest] : []),
    ];
    const r = await flood({
      to: { address: run.target.address, port: run.target.port },
      family: run.target.family,
      count: sizes.length * 2,
      size: (seq) => sizes[seq % sizes.length] ?? 0,
      burst: sizes.length,
      intervalMs: 20,
      maxSendMs: 1000,
      quietMs: Math.min(run.options.timeoutMs, 300),
      maxDrainMs: run.options.timeoutMs,
      bufferBytes: BIG_BUFFER,
    });
    const evidence = { sizes, ...floodEvidence(r) };
    const ratio = r.bytesSent > 0 ? r.bytesReceived / r.bytesSent : 0;
    const counts = `${r.replies} replies (${r.bytesReceived} bytes) to ${r.sent} requests (${r.bytesSent} bytes)`;
    if (r.replies > r.sent || r.bytesReceived > r.bytesSent) {
      return violated(`amplification: ${counts}, byte ratio ${ratio.toFixed(3)}`, evidence);
    }
    if (r.unexpected > 0) {
      return violated(
        `${r.unexpected} replies to requests already answered (or never sent): ${counts}`,
        evidence,
      );
    }
    return met(`no amplification: ${counts}`, evidence);
  });

  conformanceCase('7.6', async (run) => {
    const r = await flood({
      to: { address: run.target.address, port: run.target.port },
      family: run.target.family,
      count: FLOOD.count,
      size: () => FLOOD.size,
      burst: FLOOD.burst,
      intervalMs: FLOOD.intervalMs,
      maxSendMs: FLOOD.maxSendMs,
      quietMs: 300,
      maxDrainMs: 1000,
      sliceMs: FLOOD.sliceMs,
      bufferBytes: BIG_BUFFER,
    });
    return info(describeFlood(r), { ...floodEvidence(r, true), sliceMs: FLOOD.sliceMs });
  });
});

/** 7.6's finding in one line: overall ratio, ratio per slice, and where it fell if it did. */
function describeFlood(r: FloodResult): string {
  const pct = (a: number, b: number): string => `${b === 0 ? 0 : Math.round((100 * a) / b)}%`;
  const rate = Math.round(r.sent / Math.max(r.sendMs / 1000, 0.001));
  const head = `answered ${r.replies} of ${r.sent} ${FLOOD.size}-byte datagrams (${pct(r.replies, r.sent)}) sent at ~${rate}/s over ${(r.sendMs / 1000).toFixed(1)} s`;
  const slices = r.timeline.filter((s) => s.sent > 0);
  const perSlice = slices.map((s) => pct(s.replies, s.sent)).join(' ');
  if (r.replies >= r.sent * 0.99) return `${head}: no throttling seen (per ${FLOOD.sliceMs} ms: ${perSlice})`;
  const ratio = (s: { sent: number; replies: number }): number => s.replies / s.sent;
  const start = slices[0] ? ratio(slices[0]) : 0;
  const fell = slices.find((s) => ratio(s) < start / 2);
  if (fell) {
    const before = slices.filter((s) => s.startMs < fell.startMs).reduce((n, s) => n + s.sent, 0);
    return `${head}: the reply ratio fell below half its start after ~${(fell.startMs / 1000).toFixed(1)} s (~${before} datagrams): the server or the path throttles or drops under load (per ${FLOOD.sliceMs} ms: ${perSlice})`;
  }
  return `${head}: a steady share is lost, no onset of throttling (per ${FLOOD.sliceMs} ms: ${perSlice}); losses anywhere on the path count`;
}
