/**
 * The rows of the table, group by group (servers, generators, ping-pong), each with the measurement that
 * fills it, and the interleaved repetitions that fill them all.
 */
import { LARGE_SIZES, MANY_FLOWS, RATE_ROW_RATE } from './config.js';
import type { FloodSample, FloodShape, Generators, Sample } from './generators.js';
import type { LoopbackServers, Server, Veth } from './servers.js';
import type { Sockperf } from './sockperf.js';

/** One row of the table. */
export interface Row {
  readonly id: string;
  readonly group: 'server' | 'generator' | 'ping-pong' | 'rate' | 'sockperf';
  readonly label: string;
  /** msgs/s: datagrams sent one way (sockperf throughput), not echoes. */
  readonly unit: 'echoes/s' | 'us p50' | 'us lag p99' | 'msgs/s';
  /** Payload bytes of each datagram of a rate row: its rate times this is its bytes/s. */
  readonly payloadBytes?: number;
  /** Absent when the row was skipped. */
  readonly measure?: () => Promise<Sample>;
  skipped?: string;
  readonly samples: Sample[];
  /** Another row's measurement stands for this one (same generator, same server). */
  readonly sameAs?: string;
}

function flood(
  id: string,
  label: string,
  m: () => Promise<FloodSample>,
  group: Row['group'] = 'server',
  payloadBytes = 64,
): Row {
  return { id, group, label, unit: 'echoes/s', payloadBytes, measure: m, samples: [] };
}

/** Measured and warm-up time of the large-datagram and many-flows rows, ms. */
export interface ExtraTiming {
  readonly ms: number;
  readonly warmupMs: number;
}

/**
 * The shape of the large-datagram rows of `size` bytes: the run's flows and window, except at 65507
 * bytes, where each datagram is one 64 KiB skb on loopback and a window of 16 per flow would overflow
 * the receiving socket's default buffer (208 KiB, about three such datagrams): window 1 there.
 */
export function largeShape(base: FloodShape, size: number, timing: ExtraTiming): FloodShape {
  return { ...base, ...timing, size, window: size > 32_768 ? 1 : base.window };
}

/** The many-flows shape: MANY_FLOWS client sockets (each its own ephemeral port), one datagram outstanding each. */
export function manyFlowsShape(base: FloodShape, timing: ExtraTiming): FloodShape {
  return { ...base, ...timing, flows: MANY_FLOWS, window: 1 };
}

/** " 1472 B, window 1": what a large-datagram row's label adds. */
function sizeTag(shape: FloodShape, base: FloodShape): string {
  return `, ${shape.size} B${shape.window === base.window ? '' : `, window ${shape.window}`}`;
}

/**
 * One row per server, all loaded by the C generator so that a row measures the server; the veth rows
 * are skipped, with `vethWhyNot`, when there is no test host.
 */
export function serverRows(
  g: Generators,
  servers: LoopbackServers,
  veth: Veth | undefined,
  vethWhyNot: string | undefined,
): Row[] {
  const { reference: ref, naive, mmsg, loop } = servers;
  const rows = [
    flood('server.reference', 'echolot reference server (node)', () => g.cFlood(ref.address, ref.port)),
    flood('server.naive', 'naive node:dgram server', () => g.cFlood(naive.address, naive.port)),
    flood('server.c-mmsg', 'C recvmmsg/sendmmsg server', () => g.cFlood(mmsg.address, mmsg.port)),
    flood('server.c-loop', 'C recvfrom/sendto loop', () => g.cFlood(loop.address, loop.port)),
  ];
  if (veth) {
    rows.push(
      flood('server.inetd-veth', 'openbsd-inetd internal echo (veth)', () =>
        g.cFlood(veth.inetd.address, veth.inetd.port),
      ),
      flood('server.c-mmsg-veth', 'C recvmmsg/sendmmsg server (veth)', () =>
        g.cFlood(veth.mmsg.address, veth.mmsg.port),
      ),
    );
  } else {
    for (const [id, label] of [
      ['server.inetd-veth', 'openbsd-inetd internal echo (veth)'],
      ['server.c-mmsg-veth', 'C recvmmsg/sendmmsg server (veth)'],
    ] as const) {
      rows.push({
        id,
        group: 'server',
        label,
        unit: 'echoes/s',
        skipped: vethWhyNot ?? 'unavailable',
        samples: [],
      });
    }
  }
  return rows;
}

/** One row per generator, all against the C mmsg server; the C generator's is the C mmsg server row. */
export function generatorRows(g: Generators, mmsg: Server): Row[] {
  return [
    flood(
      'generator.echolot',
      'echolot generator (runLoad flood)',
      () => g.echolotFlood(mmsg.address, mmsg.port),
      'generator',
    ),
    flood(
      'generator.echolot-loop',
      "echolot generator, closed loops on Node's loop (no data-plane thread)",
      () => g.echolotFlood(mmsg.address, mmsg.port, g.base, { plane: false }),
      'generator',
    ),
    flood(
      'generator.naive',
      'naive node:dgram generator',
      () => g.naiveFlood(mmsg.address, mmsg.port),
      'generator',
    ),
    {
      id: 'generator.c-mmsg',
      group: 'generator',
      label: 'C sendmmsg/recvmmsg generator',
      unit: 'echoes/s',
      payloadBytes: 64,
      samples: [],
      sameAs: 'server.c-mmsg',
    },
  ];
}

/** The reference server and the C mmsg server, loaded by the C generator, with each large payload. */
export function largeServerRows(g: Generators, servers: LoopbackServers, timing: ExtraTiming): Row[] {
  const { reference: ref, mmsg } = servers;
  return LARGE_SIZES.flatMap((size) => {
    const shape = largeShape(g.base, size, timing);
    const tag = sizeTag(shape, g.base);
    return [
      flood(
        `server.reference.${size}`,
        `echolot reference server (node)${tag}`,
        () => g.cFlood(ref.address, ref.port, shape),
        'server',
        size,
      ),
      flood(
        `server.c-mmsg.${size}`,
        `C recvmmsg/sendmmsg server${tag}`,
        () => g.cFlood(mmsg.address, mmsg.port, shape),
        'server',
        size,
      ),
    ];
  });
}

/** Why --quick skips echolot's generator at 65507 bytes. */
export const ECHOLOT_LARGEST_QUICK_SKIP =
  "--quick: echolot's generator sets up for seconds before it measures 65507-byte datagrams; the 1472-byte row runs";

/**
 * echolot's generator against the C one with each large payload (the C one's row is the C mmsg server
 * row of that size), then both with MANY_FLOWS flows; all against the C mmsg server. --quick skips
 * echolot's at 65507 bytes (ECHOLOT_LARGEST_QUICK_SKIP).
 */
export function largeGeneratorRows(g: Generators, mmsg: Server, timing: ExtraTiming, quick: boolean): Row[] {
  const rows = LARGE_SIZES.flatMap((size): Row[] => {
    const shape = largeShape(g.base, size, timing);
    const tag = sizeTag(shape, g.base);
    const echolot = flood(
      `generator.echolot.${size}`,
      `echolot generator (runLoad flood)${tag}`,
      () => g.echolotFlood(mmsg.address, mmsg.port, shape),
      'generator',
      size,
    );
    const { measure: _unused, ...skipped } = echolot;
    return [
      quick && size > 32_768 ? { ...skipped, skipped: ECHOLOT_LARGEST_QUICK_SKIP } : echolot,
      {
        id: `generator.c-mmsg.${size}`,
        group: 'generator',
        label: `C sendmmsg/recvmmsg generator${tag}`,
        unit: 'echoes/s',
        payloadBytes: size,
        samples: [],
        sameAs: `server.c-mmsg.${size}`,
      },
    ];
  });
  const many = manyFlowsShape(g.base, timing);
  const tag = `, ${many.flows} flows x window ${many.window}`;
  rows.push(
    flood(
      `generator.echolot.${many.flows}-flows`,
      `echolot generator (runLoad flood)${tag}`,
      () => g.echolotFlood(mmsg.address, mmsg.port, many),
      'generator',
      many.size,
    ),
    flood(
      `generator.c-mmsg.${many.flows}-flows`,
      `C sendmmsg/recvmmsg generator${tag}`,
      () => g.cFlood(mmsg.address, mmsg.port, many),
      'generator',
      many.size,
    ),
  );
  return rows;
}

/** Why --quick skips the sockperf throughput row. */
export const SOCKPERF_QUICK_SKIP =
  '--quick: every sockperf run first waits 2 s of its own, so --quick measures only its ping-pong';

/**
 * sockperf's own client against its own server (`sockperf sr`) on loopback: ping-pong p50 and one-way
 * throughput, an outside reference; skipped with `whyNot` when sockperf is absent, and the throughput
 * row with SOCKPERF_QUICK_SKIP in --quick.
 */
export function sockperfRows(
  sockperf: Sockperf,
  server: Server | undefined,
  whyNot: string | undefined,
  size: number,
  quick: boolean,
): Row[] {
  const rows: Row[] = [
    {
      id: 'sockperf.ping-pong',
      group: 'sockperf',
      label: 'sockperf ping-pong --full-rtt (against sockperf sr)',
      unit: 'us p50',
      samples: [],
    },
    {
      id: 'sockperf.throughput',
      group: 'sockperf',
      label: 'sockperf throughput, one way (against sockperf sr)',
      unit: 'msgs/s',
      payloadBytes: size,
      samples: [],
    },
  ];
  if (server === undefined) return rows.map((r) => ({ ...r, skipped: whyNot ?? 'unavailable' }));
  const [pp, tp] = rows as [Row, Row];
  return [
    { ...pp, measure: () => sockperf.pingPong(server) },
    quick ? { ...tp, skipped: SOCKPERF_QUICK_SKIP } : { ...tp, measure: () => sockperf.throughput(server) },
  ];
}

/** One datagram outstanding on one socket, echolot's generator and the C one, against the C mmsg server. */
export function pingPongRows(g: Generators, mmsg: Server): Row[] {
  return [
    {
      id: 'ping-pong.echolot',
      group: 'ping-pong',
      label: 'echolot --mode ping-pong --flows 1',
      unit: 'us p50',
      measure: () => g.echolotPingPong(mmsg.address, mmsg.port),
      samples: [],
    },
    {
      id: 'ping-pong.echolot-loop',
      group: 'ping-pong',
      label: "echolot --mode ping-pong --flows 1, on Node's loop (no data-plane thread)",
      unit: 'us p50',
      measure: () => g.echolotPingPong(mmsg.address, mmsg.port, { plane: false }),
      samples: [],
    },
    {
      id: 'ping-pong.c',
      group: 'ping-pong',
      label: 'C gen-mmsg ping-pong',
      unit: 'us p50',
      measure: () => g.cPingPong(mmsg.address, mmsg.port),
      samples: [],
    },
  ];
}

/**
 * One socket sending RATE_ROW_RATE datagrams/s on a constant schedule against the C mmsg server: the
 * send lag p99 of echolot's rate mode (the data-plane thread computing the schedule), and of a C loop
 * that spins on the clock and sends each datagram as it falls due.
 */
export function rateRows(g: Generators, mmsg: Server): Row[] {
  const rate = `${RATE_ROW_RATE / 1000}k`;
  return [
    {
      id: 'rate.echolot',
      group: 'rate',
      label: `echolot --mode rate -r ${rate} --flows 1, send lag p99`,
      unit: 'us lag p99',
      measure: () => g.echolotRate(mmsg.address, mmsg.port),
      samples: [],
    },
    {
      id: 'rate.c',
      group: 'rate',
      label: `C rate-pacer at ${rate}/s (a loop spinning on the clock), send lag p99`,
      unit: 'us lag p99',
      measure: () => g.cRate(mmsg.address, mmsg.port),
      samples: [],
    },
  ];
}

/** Measures every row `reps` times into its samples. */
export async function measureRows(rows: readonly Row[], reps: number): Promise<void> {
  // Interleaved: every row once per round, so a burst of noise from elsewhere hits all rows alike.
  for (let rep = 0; rep < reps; rep++) {
    for (const row of rows) {
      if (row.measure === undefined) continue;
      row.samples.push(await row.measure());
    }
  }
}
